// The results folder: <sha>.log appended live, then <sha>.json and <sha>
// written atomically when the build ends. Only validated commit ids become
// file names, so nothing from the wire can name a path outside the folder.

import { mkdirSync, statSync } from 'node:fs';
import { open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../common/atomic-write.js';
import type { BuildRecord } from '../protocol/records.js';
import { isCommitId } from '../protocol/validate.js';
import { CappedLog } from './capped-log.js';
import { MAX_OUTPUT_IN_REPORT, renderReport } from './report.js';

/** The last `max` bytes of a file (the report shows only the tail of a long log). */
async function readTail(path: string, max: number): Promise<{ text: string; omitted: number }> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch {
    return { text: '', omitted: 0 };
  }
  try {
    const { size } = await handle.stat();
    const length = Math.min(size, max);
    const buffer = Buffer.alloc(length);
    await handle.read(buffer, 0, length, size - length);
    return { text: buffer.toString('utf8'), omitted: size - length };
  } finally {
    await handle.close();
  }
}

export class ResultStore {
  private readonly logs = new Map<string, CappedLog>();

  constructor(readonly dir: string, private readonly maxLogBytes: number) {
    mkdirSync(dir, { recursive: true });
  }

  private path(commit: string, suffix = ''): string {
    if (!isCommitId(commit)) throw new Error(`refusing a result path for ${JSON.stringify(commit)}`);
    return join(this.dir, `${commit}${suffix}`);
  }

  /** The report is written last, so its presence means the result is complete. */
  hasResult(commit: string): boolean {
    try {
      return statSync(this.path(commit)).isFile();
    } catch {
      return false;
    }
  }

  /** Appends output to <sha>.log, live up to the cap (see CappedLog). */
  appendLog(commit: string, text: string): void {
    let log = this.logs.get(commit);
    if (!log) {
      log = new CappedLog(this.path(commit, '.log'), this.maxLogBytes);
      this.logs.set(commit, log);
    }
    log.append(text);
  }

  private closeLog(commit: string): Promise<void> {
    const log = this.logs.get(commit);
    if (!log) return Promise.resolve();
    this.logs.delete(commit);
    return log.close();
  }

  /** Flushes the log, then writes <sha>.json and the readable <sha>, each atomically. */
  async writeResult(build: BuildRecord): Promise<void> {
    await this.closeLog(build.commit);
    const tail = await readTail(this.path(build.commit, '.log'), MAX_OUTPUT_IN_REPORT);
    await writeFileAtomic(this.path(build.commit, '.json'), `${JSON.stringify(build, null, 2)}\n`);
    await writeFileAtomic(this.path(build.commit), renderReport(build, tail.text, tail.omitted));
  }

  async readResult(commit: string): Promise<BuildRecord | null> {
    try {
      return JSON.parse(await readFile(this.path(commit, '.json'), 'utf8')) as BuildRecord;
    } catch {
      return null;
    }
  }

  async close(): Promise<void> {
    await Promise.all([...this.logs.keys()].map((commit) => this.closeLog(commit)));
  }
}
