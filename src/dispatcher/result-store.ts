// The results folder. Per build, beside each other: <sha>.log (or
// <sha>.<job>.log per job when a build has several) appended live,
// <sha>.<job>.junit.xml when tests wrote JUnit, then <sha>.json and the
// readable <sha>, written atomically when the build ends. A build of an
// observer with --project NAME keeps its files in NAME/. Only validated
// commit ids, job ids and project names become file names, so nothing from
// the wire can name a path outside the folder.

import { mkdirSync, statSync } from 'node:fs';
import { open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../common/atomic-write.js';
import type { BuildRecord, JobRecord } from '../protocol/records.js';
import { isCommitId, isName } from '../protocol/validate.js';
import { CappedLog, type LogEnd } from './capped-log.js';
import { MAX_OUTPUT_IN_REPORT, renderReport, type LogTail } from './report.js';

/** The last `max` bytes of a file (the report shows only the tail of a long log). */
async function readTail(path: string, max: number): Promise<Omit<LogTail, 'job'>> {
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
  /** JUnit files being written, by build, so the report waits for them. */
  private readonly junitWrites = new Map<string, Promise<unknown>[]>();

  constructor(readonly dir: string, private readonly maxLogBytes: number) {
    mkdirSync(dir, { recursive: true });
  }

  /** The folder of a project's results; made only when something is written there. */
  private folder(project: string | null, create = false): string {
    if (project === null) return this.dir;
    if (!isName(project)) throw new Error(`refusing a results folder for ${JSON.stringify(project)}`);
    const folder = join(this.dir, project);
    if (create) mkdirSync(folder, { recursive: true });
    return folder;
  }

  private path(project: string | null, commit: string, suffix = '', create = false): string {
    if (!isCommitId(commit)) throw new Error(`refusing a result path for ${JSON.stringify(commit)}`);
    return join(this.folder(project, create), `${commit}${suffix}`);
  }

  /** Where a job's log or JUnit file goes; the folder is made, since it is written next. */
  private jobPath(build: BuildRecord, file: string): string {
    if (!file.startsWith(`${build.commit}.`) || !/^[A-Za-z0-9._-]{1,200}$/.test(file)) throw new Error(`refusing a job file name ${JSON.stringify(file)}`);
    return join(this.folder(build.project, true), file);
  }

  /** The report is written last, so its presence means the result is complete. */
  hasResult(project: string | null, commit: string): boolean {
    try {
      return statSync(this.path(project, commit)).isFile();
    } catch {
      return false;
    }
  }

  /** Appends output to the job's log, live up to the cap (see CappedLog). */
  appendLog(build: BuildRecord, job: JobRecord, text: string): void {
    const path = this.jobPath(build, job.log);
    let log = this.logs.get(path);
    if (!log) {
      log = new CappedLog(path, this.maxLogBytes, MAX_OUTPUT_IN_REPORT);
      this.logs.set(path, log);
    }
    log.append(text);
  }

  /**
   * Starts writing a job's JUnit XML beside its log and returns the file
   * name at once; writeResult waits for the write, so the report never names
   * a file that is not there yet.
   */
  keepJunit(build: BuildRecord, job: JobRecord, xml: string, onError: (error: Error) => void): string {
    const file = `${build.commit}.${job.name}.junit.xml`;
    const key = `${build.project ?? ''}/${build.commit}`;
    const writes = this.junitWrites.get(key) ?? [];
    writes.push(writeFileAtomic(this.jobPath(build, file), xml).catch(onError));
    this.junitWrites.set(key, writes);
    return file;
  }

  /** Closes a job's log; its end, or null when it was not open here or does not know its whole file. */
  private async closeLog(path: string): Promise<LogEnd | null> {
    const log = this.logs.get(path);
    if (!log) return null;
    this.logs.delete(path);
    return log.close();
  }

  /** The last `max` bytes of a job's log, from memory when the log kept them. */
  private async logEnd(path: string, max: number): Promise<Omit<LogTail, 'job'>> {
    const end = await this.closeLog(path);
    if (!end) return readTail(path, max);
    const cut = Math.max(0, end.bytes.length - max);
    return { text: end.bytes.subarray(cut).toString('utf8'), omitted: end.omitted + cut };
  }

  /** Flushes the logs, then writes <sha>.json and the readable <sha>, each atomically. */
  async writeResult(build: BuildRecord): Promise<void> {
    const key = `${build.project ?? ''}/${build.commit}`;
    await Promise.all(this.junitWrites.get(key) ?? []);
    this.junitWrites.delete(key);
    const tails = [];
    const share = Math.floor(MAX_OUTPUT_IN_REPORT / Math.max(1, build.jobs.length));
    for (const job of build.jobs) {
      tails.push({ job: job.name, ...(await this.logEnd(this.jobPath(build, job.log), share)) });
    }
    await writeFileAtomic(this.path(build.project, build.commit, '.json', true), `${JSON.stringify(build, null, 2)}\n`);
    await writeFileAtomic(this.path(build.project, build.commit, '', true), renderReport(build, tails));
  }

  async readResult(project: string | null, commit: string): Promise<BuildRecord | null> {
    try {
      return JSON.parse(await readFile(this.path(project, commit, '.json'), 'utf8')) as BuildRecord;
    } catch {
      return null;
    }
  }

  async close(): Promise<void> {
    await Promise.all([...this.logs.keys()].map((path) => this.closeLog(path)));
  }
}
