// A job's artifacts, gathered from its worktree when it has ended (its
// processes are dead, so nothing changes the tree any more) into the
// runner's spool, <workdir>/results/<lease>.artifacts/, where they wait with
// the result until the dispatcher has them: a dispatcher outage loses
// neither. Symbolic links are never followed (neither while looking nor when
// a file is opened: O_NOFOLLOW), files whose names Keel would not send are
// left, and no more than the build's limit is taken; each such thing is a
// note in the result.

import { constants, createWriteStream } from 'node:fs';
import { lstat, mkdir, open, readdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { LIMITS } from '../protocol/limits.js';
import type { ArtifactFile } from '../protocol/records.js';
import { isArtifactPath } from '../protocol/validate.js';
import { artifactMatcher } from './artifact-glob.js';

/** Entries looked at before giving up on a tree too large to search. */
const MAX_ENTRIES = 200_000;
const MIB = 1024 * 1024;

export interface Collected {
  files: ArtifactFile[];
  notes: string[];
}

function mib(bytes: number): string {
  return `${Number((bytes / MIB).toFixed(1))} MiB`;
}

/** The files under `worktree` that `patterns` name, oldest path first, with notes on what was left out. */
async function find(worktree: string, patterns: readonly string[], notes: string[]): Promise<string[]> {
  const matcher = artifactMatcher(patterns);
  const found: string[] = [];
  let seen = 0;
  const visit = async (rel: string): Promise<void> => {
    if (seen++ > MAX_ENTRIES) return;
    const full = rel === '' ? worktree : join(worktree, ...rel.split('/'));
    let info;
    try {
      info = await lstat(full);
    } catch {
      return;
    }
    if (info.isSymbolicLink()) {
      if (matcher.matches(rel)) notes.push(`${rel}: a symbolic link, not followed`);
      return;
    }
    if (info.isFile()) {
      if (rel !== '' && matcher.matches(rel)) found.push(rel);
      return;
    }
    if (!info.isDirectory()) return;
    const names = await readdir(full).catch(() => [] as string[]);
    for (const name of names.sort()) {
      if (rel === '' && name === '.git') continue;
      await visit(rel === '' ? name : `${rel}/${name}`);
    }
  };
  for (const root of matcher.roots) await visit(root);
  if (seen > MAX_ENTRIES) notes.push(`stopped looking after ${MAX_ENTRIES} files and folders`);
  return [...new Set(found)].sort();
}

/** Copies one file without following a link in its last part; its size, or null when it was not a plain file. */
async function copy(from: string, to: string, max: number): Promise<number | null> {
  const source = await open(from, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    const info = await source.stat();
    if (!info.isFile()) return null;
    if (info.size > max) return -info.size;
    await mkdir(dirname(to), { recursive: true });
    await pipeline(source.createReadStream({ autoClose: false }), createWriteStream(to));
    return info.size;
  } finally {
    await source.close();
  }
}

export async function collectArtifacts(worktree: string, patterns: readonly string[], into: string, maxBytes: number): Promise<Collected> {
  const notes: string[] = [];
  const files: ArtifactFile[] = [];
  if (patterns.length === 0) return { files, notes };
  const found = await find(worktree, patterns, notes);
  if (found.length === 0) notes.push(`${patterns.join(', ')}: no file matched`);
  let total = 0;
  const over: string[] = [];
  for (const rel of found) {
    if (!isArtifactPath(rel)) {
      notes.push(`${JSON.stringify(rel).slice(0, 200)}: a name Keel does not send (a control character, a backslash, or too long)`);
      continue;
    }
    if (files.length === LIMITS.artifactFiles) {
      notes.push(`more than ${LIMITS.artifactFiles} files matched; the rest were not sent`);
      break;
    }
    let bytes: number | null;
    try {
      bytes = await copy(join(worktree, ...rel.split('/')), join(into, ...rel.split('/')), maxBytes - total);
    } catch (error) {
      notes.push(`${rel}: could not be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
      continue;
    }
    if (bytes === null) continue;
    if (bytes < 0) {
      over.push(`${rel} (${mib(-bytes)})`);
      continue;
    }
    files.push({ path: rel, bytes });
    total += bytes;
  }
  if (over.length > 0) {
    notes.push(`over the build's artifact limit of ${mib(maxBytes)} (--max-artifact-mib on the dispatcher), not sent: ${over.slice(0, 5).join(', ')}${over.length > 5 ? ` and ${over.length - 5} more` : ''}`);
  }
  return { files, notes: notes.slice(0, LIMITS.artifactNotes).map((note) => note.slice(0, LIMITS.text)) };
}
