// Reading a job's log file line by line on the server, so the page never
// needs the whole log: the search box's matches (line number, byte offset,
// the line), the lines around a failed test, the number of lines in the
// middle of a big log. Reads in blocks off the event loop's back (async
// reads), within a byte budget per request.

import { open } from 'node:fs/promises';

const BLOCK = 256 * 1024;
/** The most of a log one request reads: the whole of a log at the default cap. */
export const SCAN_BUDGET = 256 * 1024 * 1024;
/** Terminal escape sequences (CSI with its parameters, OSC up to its end, charsets, two-byte escapes): what the page does not show. */
// eslint-disable-next-line no-control-regex
const ESCAPES = /\u001b\[[0-?]*[ -/]*[@-~]|\u001b\][^\u0007\u001b]*(?:\u0007|\u001b\\)?|\u001b[ -/]+[0-~]|\u001b[@-Z\\-_]?/g;
const SHOWN_CHARS = 500;

export const stripEscapes = (text: string) => text.replace(ESCAPES, '');

/**
 * Calls `visit` for each line of the file from `from` (its number counted
 * from `firstLine`, its byte offset), until `visit` returns false or
 * `budget` bytes are read. Returns the bytes read and whether the end was reached.
 */
export async function scanLines(
  path: string,
  visit: (line: string, number: number, offset: number) => boolean,
  options: { from?: number; to?: number; firstLine?: number; budget?: number } = {},
): Promise<{ read: number; complete: boolean }> {
  const { from = 0, firstLine = 1, budget = SCAN_BUDGET } = options;
  let handle;
  try {
    handle = await open(path, 'r');
  } catch {
    return { read: 0, complete: true };
  }
  try {
    const to = Math.min(options.to ?? Infinity, (await handle.stat()).size);
    let position = from;
    let number = firstLine;
    let carry = Buffer.alloc(0);
    let lineStart = from;
    while (position < to) {
      if (position - from >= budget) return { read: position - from, complete: false };
      const block = Buffer.alloc(Math.min(BLOCK, to - position));
      const { bytesRead } = await handle.read(block, 0, block.length, position);
      if (bytesRead === 0) break;
      position += bytesRead;
      const bytes = carry.length > 0 ? Buffer.concat([carry, block.subarray(0, bytesRead)]) : block.subarray(0, bytesRead);
      let start = 0;
      for (let newline = bytes.indexOf(0x0a); newline !== -1; newline = bytes.indexOf(0x0a, start)) {
        if (!visit(bytes.subarray(start, newline).toString('utf8'), number, lineStart)) return { read: position - from, complete: false };
        number += 1;
        lineStart += newline + 1 - start;
        start = newline + 1;
      }
      carry = Buffer.from(bytes.subarray(start));
    }
    if (carry.length > 0) visit(carry.toString('utf8'), number, lineStart);
    return { read: position - from, complete: true };
  } finally {
    await handle.close();
  }
}

export interface Match {
  line: number;
  offset: number;
  /** The line as shown (escapes removed), clipped. */
  text: string;
}

/** Lines that hold `query` (ignoring case and escape sequences), the first `limit` of them. */
export async function searchLog(path: string, query: string, limit: number): Promise<{ matches: Match[]; complete: boolean }> {
  const needle = query.toLowerCase();
  const matches: Match[] = [];
  const { complete } = await scanLines(path, (line, number, offset) => {
    const shown = stripEscapes(line);
    if (shown.toLowerCase().includes(needle)) matches.push({ line: number, offset, text: shown.slice(0, SHOWN_CHARS) });
    return matches.length < limit;
  });
  return { matches, complete: complete || matches.length >= limit };
}

export interface Context {
  /** The line that names the test. */
  line: number;
  lines: Array<{ number: number; text: string }>;
}

/** For each needle, the first line holding it and the lines around it; within the first `budget` bytes. */
export async function contextOf(path: string, needles: string[], around = { before: 2, after: 6 }, budget = 16 * 1024 * 1024): Promise<Map<string, Context>> {
  const found = new Map<string, Context>();
  const waiting = new Set(needles.filter((needle) => needle.length > 0));
  const recent: Array<{ number: number; text: string }> = [];
  const open: Array<{ needle: string; context: Context; left: number }> = [];
  await scanLines(path, (line, number) => {
    const text = stripEscapes(line).slice(0, SHOWN_CHARS);
    for (const item of open) {
      item.context.lines.push({ number, text });
      item.left -= 1;
    }
    for (let i = open.length - 1; i >= 0; i--) if (open[i]!.left <= 0) open.splice(i, 1);
    for (const needle of [...waiting]) {
      if (!text.includes(needle)) continue;
      waiting.delete(needle);
      const context: Context = { line: number, lines: [...recent, { number, text }] };
      found.set(needle, context);
      open.push({ needle, context, left: around.after });
    }
    recent.push({ number, text });
    if (recent.length > around.before) recent.shift();
    return waiting.size > 0 || open.length > 0;
  }, { budget });
  return found;
}

/** Newlines in the file's bytes [from, to). */
export async function countLines(path: string, from: number, to: number): Promise<number> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch {
    return 0;
  }
  try {
    let count = 0;
    const block = Buffer.alloc(BLOCK * 4);
    for (let position = from; position < to;) {
      const { bytesRead } = await handle.read(block, 0, Math.min(block.length, to - position), position);
      if (bytesRead === 0) break;
      for (let i = block.indexOf(0x0a, 0); i !== -1 && i < bytesRead; i = block.indexOf(0x0a, i + 1)) count += 1;
      position += bytesRead;
    }
    return count;
  } finally {
    await handle.close();
  }
}
