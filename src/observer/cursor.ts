// The observer's memory across restarts: the last head seen per branch, and
// the commits found but not yet acknowledged by the dispatcher. Written whole
// and atomically, so a crash at any point leaves the old file or the new one.
//
//   { "version": 1,
//     "branches": { "main": "<sha>", ... },
//     "pending": [ { "commit": "<sha>", "ref": "refs/heads/main" }, ... ] }

import { createHash } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { writeFileAtomic } from '../common/atomic-write.js';
import { ErrorCode, KeelError } from '../protocol/error-codes.js';
import { isCommitId, isRefName } from '../protocol/validate.js';

export const CURSOR_VERSION = 1;

export interface PendingCommit {
  readonly commit: string;
  readonly ref: string;
}

export interface Cursor {
  /** Branch name → the head last reported for it. */
  branches: Map<string, string>;
  /** Oldest first; each stays until the dispatcher answers `queued`. */
  pending: PendingCommit[];
}

/** The cursor file is unreadable or malformed; starting over would resend or skip history. */
export class CursorError extends KeelError {
  override readonly name = 'CursorError';

  constructor(message: string, options?: { cause?: unknown }) {
    super(ErrorCode.badCursor, message, options);
  }
}

/** One file per clone, so several observers can share a state folder. */
export function cursorPath(stateDir: string, clone: string): string {
  const key = createHash('sha256').update(clone).digest('hex').slice(0, 12);
  return join(stateDir, `observer-${key}.json`);
}

/** The saved cursor, or null when there is none yet (the first run). */
export async function readCursor(path: string): Promise<Cursor | null> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new CursorError(`cannot read cursor file ${path}: ${(error as Error).message}`, { cause: error });
  }
  try {
    return parseCursor(text);
  } catch (error) {
    throw new CursorError(
      `cursor file ${path} is corrupt (${(error as Error).message}); move it away to start again from the current heads`,
      { cause: error },
    );
  }
}

export async function writeCursor(path: string, cursor: Cursor): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFileAtomic(path, formatCursor(cursor));
}

export function formatCursor(cursor: Cursor): string {
  const data = {
    version: CURSOR_VERSION,
    branches: Object.fromEntries([...cursor.branches].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))),
    pending: cursor.pending.map(({ commit, ref }) => ({ commit, ref })),
  };
  return `${JSON.stringify(data, null, 2)}\n`;
}

/** Parses and checks the file's text; throws a plain Error saying what is wrong. */
export function parseCursor(text: string): Cursor {
  const data: unknown = JSON.parse(text);
  if (!isObject(data)) throw new Error('not a JSON object');
  if (data.version !== CURSOR_VERSION) throw new Error(`version must be ${CURSOR_VERSION}, got ${JSON.stringify(data.version)}`);
  if (!isObject(data.branches)) throw new Error('"branches" must be an object');
  const branches = new Map<string, string>();
  for (const [name, sha] of Object.entries(data.branches)) {
    if (!isRefName(`refs/heads/${name}`)) throw new Error(`bad branch name ${JSON.stringify(name)}`);
    if (typeof sha !== 'string' || !isCommitId(sha)) throw new Error(`branch ${name} has a bad commit id ${JSON.stringify(sha)}`);
    branches.set(name, sha);
  }
  if (!Array.isArray(data.pending)) throw new Error('"pending" must be an array');
  const pending: PendingCommit[] = [];
  for (const entry of data.pending as unknown[]) {
    if (!isObject(entry) || typeof entry.commit !== 'string' || !isCommitId(entry.commit)
      || typeof entry.ref !== 'string' || !isRefName(entry.ref)) {
      throw new Error(`bad pending entry ${JSON.stringify(entry)}`);
    }
    pending.push({ commit: entry.commit, ref: entry.ref });
  }
  return { branches, pending };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
