// Types of log-view.js for the tests that import it (the browser needs none).
export interface Style { fg: string | null; bg: string | null; bold: boolean; dim: boolean; italic: boolean; underline: boolean; inverse: boolean }
export interface Segment { text: string; classes: string[]; color: string | null; background: string | null }
export interface Marker { kind: 'start' | 'end'; time: number; name: string; collapsed: boolean; rest: string }
export function plainStyle(): Style;
export function applySgr(style: Style, parameters: string): Style;
export function afterCarriageReturns(line: string): string;
export function renderAnsi(line: string, style: Style): Segment[];
export function plainText(line: string): string;
export function sectionMarker(line: string): Marker | null;
export class Lines {
  constructor(offset?: number);
  offset: number;
  push(text: string): Array<{ text: string; offset: number }>;
  flush(): Array<{ text: string; offset: number }>;
}
export function byteLength(text: string): number;
export function timeAt(marks: number[], offset: number): number | null;
export function formatElapsed(ms: number | null | undefined): string;
