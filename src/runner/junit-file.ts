// Reads the JUnit XML a job wrote into its worktree and folds it into the
// RunOutcome. The path comes from the repository (keel.json) and the file
// from code under test, so both are untrusted: the path must stay inside the
// worktree, no folder on the way may lead out of it through a symlink, and
// the file itself is opened with O_NOFOLLOW and must be a regular file (a
// FIFO would block us, /dev/zero would never end). Only LIMITS.junitChars characters
// travel in the result; a larger report is still read, up to a bound, for
// its counts.

import { constants } from 'node:fs';
import { open, realpath } from 'node:fs/promises';
import { dirname, isAbsolute, relative, resolve, sep } from 'node:path';
import { LIMITS } from '../protocol/limits.js';
import type { RunOutcome } from '../protocol/records.js';
import { parseJunit } from './junit.js';

/** Enough for suites of tens of thousands of tests with stack traces. */
const MAX_PARSE_BYTES = 16 * 1024 * 1024;

export type JunitFile =
  | { kind: 'read'; text: string; bytes: number }
  | { kind: 'missing' }
  | { kind: 'refused'; reason: string };

/** True when `path` (relative to `root`) names something strictly inside `root`. */
function isInside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel !== '' && rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel);
}

/** Reads `<worktree>/<path>` if it is a safe, regular file of at most MAX_PARSE_BYTES. */
export async function readJunitFile(worktree: string, path: string): Promise<JunitFile> {
  if (isAbsolute(path)) return { kind: 'refused', reason: 'is an absolute path' };
  const full = resolve(worktree, path);
  if (!isInside(worktree, full)) return { kind: 'refused', reason: 'points outside the worktree' };
  let folder: string;
  try {
    folder = await realpath(dirname(full));
  } catch {
    return { kind: 'missing' };
  }
  const root = await realpath(worktree);
  if (folder !== root && !isInside(root, folder)) return { kind: 'refused', reason: 'is in a folder that leads out of the worktree' };

  let handle;
  try {
    handle = await open(full, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return { kind: 'missing' };
    if (code === 'ELOOP') return { kind: 'refused', reason: 'is a symlink' };
    return { kind: 'refused', reason: `cannot be opened: ${code ?? (error as Error).message}` };
  }
  try {
    const info = await handle.stat();
    if (!info.isFile()) return { kind: 'refused', reason: 'is not a regular file' };
    if (info.size > MAX_PARSE_BYTES) return { kind: 'refused', reason: `is ${info.size} bytes, over the ${MAX_PARSE_BYTES} bytes Keel reads` };
    // Read one byte past the bound: the file may still be growing.
    const buffer = Buffer.alloc(Math.min(info.size, MAX_PARSE_BYTES) + 1);
    let bytes = 0;
    for (let n = -1; n !== 0 && bytes < buffer.length; bytes += n) {
      ({ bytesRead: n } = await handle.read(buffer, bytes, buffer.length - bytes, bytes));
    }
    if (bytes > MAX_PARSE_BYTES) return { kind: 'refused', reason: `grew past the ${MAX_PARSE_BYTES} bytes Keel reads` };
    return { kind: 'read', text: buffer.toString('utf8', 0, bytes), bytes };
  } finally {
    await handle.close();
  }
}

/**
 * The outcome with the report of `<worktree>/<path>` folded in: its counts
 * replace the ones read from the output, its failed tests are named, and its
 * text is attached when it fits. Problems are logged, never fatal: the run's
 * verdict stands either way.
 */
export async function attachJunit(outcome: RunOutcome, worktree: string, path: string, log: (message: string) => void): Promise<RunOutcome> {
  const file = await readJunitFile(worktree, path);
  if (file.kind === 'missing') {
    log(`JUnit file ${path} not found`);
    return outcome;
  }
  if (file.kind === 'refused') {
    log(`JUnit file ${path} not read: it ${file.reason}`);
    return outcome;
  }
  const report = parseJunit(file.text);
  if (report === null) log(`JUnit file ${path} is not JUnit XML Keel can read; counts come from the output`);
  // Escaping can double the text on the wire (quotes, backslashes, line breaks); it must fit one line with room to spare.
  const fits = file.bytes <= LIMITS.junitChars && JSON.stringify(file.text).length <= 2 * LIMITS.junitChars;
  if (!fits) log(`JUnit file ${path} is ${file.bytes} bytes, over the ${LIMITS.junitChars} that travel with the result; not sent`);
  return {
    ...outcome,
    counts: report?.counts ?? outcome.counts,
    failedTests: report?.failedTests ?? outcome.failedTests,
    junit: fits ? file.text : null,
  };
}
