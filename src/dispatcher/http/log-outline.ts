// How the log page loads a job's log: a small log whole (followed from its
// first byte), a big one as its head, an honest gap ("lines N–M not shown")
// that the page fills by Range requests when asked, and its tail, followed
// live. Cut points are line starts, so every piece the page gets begins a
// line and numbers its lines right. The middle's line count is read once
// per log and size, from the file, and kept.

import { open } from 'node:fs/promises';
import { countLines } from './log-search.js';

/** Logs up to this size are loaded whole; bigger ones as head, gap and tail of about these sizes. */
const WHOLE_BYTES = 1024 * 1024;
const HEAD_BYTES = 256 * 1024;
const TAIL_BYTES = 256 * 1024;
const COUNTS_KEPT = 256;

export interface LogOutline {
  size: number;
  /** Bytes [0, end) hold lines 1..lines; end 0 for a log loaded whole. */
  head: { end: number; lines: number };
  /** What is not loaded at first: bytes [from, to), lines firstLine..lastLine. */
  gap: { from: number; to: number; firstLine: number; lastLine: number } | null;
  /** Where the page follows the log from, and that line's number. */
  tail: { from: number; firstLine: number };
  /** [file offset, ms after the log started, ...]: when the output reached where. */
  marks: number[];
}

const counted = new Map<string, number>();

async function linesIn(path: string, from: number, to: number): Promise<number> {
  const key = `${path}\u0000${from}\u0000${to}`;
  const known = counted.get(key);
  if (known !== undefined) return known;
  const count = await countLines(path, from, to);
  counted.set(key, count);
  if (counted.size > COUNTS_KEPT) counted.delete(counted.keys().next().value!);
  return count;
}

/** The offset just past the last (or the first) newline in the file's bytes [from, to); null when there is none. */
async function lineStartIn(path: string, from: number, to: number, last: boolean): Promise<number | null> {
  const handle = await open(path, 'r');
  try {
    const bytes = Buffer.alloc(to - from);
    const { bytesRead } = await handle.read(bytes, 0, bytes.length, from);
    const window = bytes.subarray(0, bytesRead);
    const newline = last ? window.lastIndexOf(0x0a) : window.indexOf(0x0a);
    return newline === -1 ? null : from + newline + 1;
  } finally {
    await handle.close();
  }
}

export async function outlineLog(path: string, size: number, marks: number[]): Promise<LogOutline> {
  const whole: LogOutline = { size, head: { end: 0, lines: 0 }, gap: null, tail: { from: 0, firstLine: 1 }, marks };
  if (size <= WHOLE_BYTES) return whole;
  const headEnd = await lineStartIn(path, 0, HEAD_BYTES, true);
  const tailFrom = await lineStartIn(path, size - TAIL_BYTES, size - TAIL_BYTES + 64 * 1024, false);
  // Lines longer than these windows: load it whole rather than cut a line.
  if (headEnd === null || tailFrom === null || tailFrom <= headEnd) return whole;
  const headLines = await linesIn(path, 0, headEnd);
  const middle = await linesIn(path, headEnd, tailFrom);
  return {
    size,
    head: { end: headEnd, lines: headLines },
    gap: { from: headEnd, to: tailFrom, firstLine: headLines + 1, lastLine: headLines + middle },
    tail: { from: tailFrom, firstLine: headLines + middle + 1 },
    marks,
  };
}
