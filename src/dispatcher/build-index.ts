// The index of finished builds: one summary per line in STATE/builds.index,
// appended once a build's result files are written, so a branch's history
// (the status page, `keel status --branch`) never reads result files.
//
// Bounded reads: at start only the file's last START_BYTES are read, to
// know each branch's newest builds (branch-recent.ts); a page of history is
// read backwards from its cursor (a byte offset) in blocks, within a budget
// per request, and says where to go on. Lines are `<crc32> <json>` (a
// BuildSummary and the repository it was built from) like the journal's, so
// a torn or damaged line is skipped, never misread. The index
// is not fsynced: after a crash it may lack its last lines (the result
// files have them), which a history page then does not list.

import { open, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import type { Log } from '../common/log.js';
import { buildSummary } from '../protocol/record-fields.js';
import type { BuildRecord, BuildSummary } from '../protocol/records.js';
import { isRepoUrl } from '../protocol/validate.js';
import { BranchRecent } from './branch-recent.js';
import { FileAppender, HeldBytes } from './file-appender.js';
import { formatLine } from './journal.js';
import { summarise } from './queries.js';

export const INDEX_FILE = 'builds.index';
const MIB = 1024 * 1024;
/** What is read at start: some thousands of the newest builds. */
const START_BYTES = 4 * MIB;
const BLOCK = 256 * 1024;
/** What one page of history may read before it answers with what it found and a cursor. */
const PAGE_BUDGET = 16 * MIB;
const LINE = /^([0-9a-f]{8}) (.*)$/s;

export interface HistoryPage {
  builds: BuildSummary[];
  /** The cursor of the next page (entries before this offset); null at the start of the index. */
  next: number | null;
}

/** One index line: a summary and the repository it was built from; null when it is torn, damaged or not a summary. */
function readLine(line: string): { summary: BuildSummary; repo: string | null } | null {
  const match = LINE.exec(line);
  if (!match || crc32(match[2]!).toString(16).padStart(8, '0') !== match[1]) return null;
  try {
    const fields = JSON.parse(match[2]!);
    const repo = typeof fields.repo === 'string' && isRepoUrl(fields.repo) ? fields.repo : null;
    return { summary: buildSummary({ build: fields }, 'build'), repo };
  } catch {
    return null;
  }
}

export class BuildIndex {
  readonly recent = new BranchRecent();
  /** The repository each project was last built from: what its commits are read from for the pages. */
  readonly repos = new Map<string | null, string>();

  private constructor(private readonly path: string, private readonly file: FileAppender, private readonly log: Log) {}

  static async open(stateDir: string, log: Log): Promise<BuildIndex> {
    const path = join(stateDir, INDEX_FILE);
    let tail = Buffer.alloc(0);
    let from = 0;
    try {
      const handle = await open(path, 'r');
      try {
        const { size } = await handle.stat();
        from = Math.max(0, size - START_BYTES);
        tail = Buffer.alloc(size - from);
        await handle.read(tail, 0, tail.length, from);
      } finally {
        await handle.close();
      }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    const index = new BuildIndex(path, new FileAppender(path, new HeldBytes(8 * MIB, 8 * MIB)), log);
    const lines = tail.toString('utf8').split('\n');
    // The first line of a tail read from the middle is a piece of a line; the last is what follows the final newline.
    const partial = lines.pop() ?? '';
    for (const line of lines.slice(from > 0 ? 1 : 0)) {
      const entry = readLine(line);
      if (!entry) continue;
      index.recent.add(entry.summary);
      if (entry.repo) index.repos.set(entry.summary.project, entry.repo);
    }
    // A line torn by a crash: the next one starts on a line of its own.
    if (partial !== '') index.file.append(Buffer.from('\n'));
    return index;
  }

  /** A build whose result files are written. */
  append(build: BuildRecord): void {
    const summary = summarise(build, false);
    this.file.append(Buffer.from(formatLine(JSON.stringify({ ...summary, repo: build.repo }))));
    this.recent.add(summary);
    this.repos.set(build.project, build.repo);
  }

  /** The offset just past the last line: a cursor that lists everything. */
  async end(): Promise<number> {
    return (await this.file.whenOpen()) + this.file.size;
  }

  /** Builds of `ref` in `project`, newest first, that start before `before` (null: the end). */
  async page(project: string | null, ref: string, before: number | null, limit: number): Promise<HistoryPage> {
    const base = await this.file.whenOpen();
    await this.file.whenFlushed(this.file.size);
    const end = Math.min(before ?? Infinity, base + this.file.size);
    const needle = `"ref":${JSON.stringify(ref)}`;
    let handle;
    try {
      handle = await open(this.path, 'r');
    } catch (error) {
      this.log(`could not read the build index ${this.path}: ${(error as Error).message}`);
      return { builds: [], next: null };
    }
    try {
      return await this.scan(handle, end, needle, (summary) => summary.ref === ref && summary.project === project, limit);
    } finally {
      await handle.close();
    }
  }

  /** Reads backwards from `end` in blocks, newest line first, until `limit` match or the budget is spent. */
  private async scan(handle: FileHandle, end: number, needle: string, wanted: (summary: BuildSummary) => boolean, limit: number): Promise<HistoryPage> {
    const builds: BuildSummary[] = [];
    const quick = Buffer.from(needle);
    let position = end;
    // Bytes [position, position + carry.length): the end of a line that began before `position`.
    let carry = Buffer.alloc(0);
    let read = 0;
    while (position > 0) {
      const start = Math.max(0, position - BLOCK);
      const block = Buffer.alloc(position - start);
      await handle.read(block, 0, block.length, start);
      read += block.length;
      const bytes = Buffer.concat([block, carry]);
      const cut = start === 0 ? 0 : bytes.indexOf(0x0a) + 1;
      if (cut === 0 && start > 0) {
        // One line longer than a block: keep gathering it.
        carry = bytes;
        position = start;
        continue;
      }
      let lineEnd = bytes.length;
      while (lineEnd > cut) {
        const newline = lineEnd - 2 < cut ? -1 : bytes.lastIndexOf(0x0a, lineEnd - 2);
        const lineStart = Math.max(cut, newline + 1);
        const line = bytes.subarray(lineStart, lineEnd - 1);
        lineEnd = lineStart;
        if (!line.includes(quick)) continue;
        const summary = readLine(line.toString('utf8'))?.summary;
        if (!summary || !wanted(summary)) continue;
        // A build written twice (a crash between its files and the journal's note of them) is listed once.
        if (builds.some((b) => b.commit === summary.commit && b.run === summary.run)) continue;
        builds.push(summary);
        const offset = start + lineStart;
        if (builds.length === limit) return { builds, next: offset > 0 ? offset : null };
      }
      carry = bytes.subarray(0, cut);
      position = start;
      if (position > 0 && read >= PAGE_BUDGET) return { builds, next: start + cut };
    }
    return { builds, next: null };
  }

  /** Writes what is waiting; then the file is let go, so nothing reopens it after the dispatcher stops. */
  async close(): Promise<void> {
    await this.file.close().catch(() => {});
    this.file.stop();
  }
}
