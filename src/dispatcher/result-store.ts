// The results folder. Per build, beside each other: <sha>.log (or
// <sha>.<job>.log per job when a build has several) appended live,
// <sha>.<job>.junit.xml when tests wrote JUnit, then <sha>.json and the
// readable <sha>, written atomically when the build ends. A build of an
// observer with --project NAME keeps its files in NAME/; a patch build in
// patches/<id>/ under that. Pushes, tries and lands of a commit share its
// files: a landed commit arriving on its target is recognised by them. Only
// validated commit ids, job ids, request ids and project names become file
// names, so nothing from the wire can name a path outside the folder.
//
// A `watch` hears when a job's log opens and closes, so live followers can
// attach to it; <sha>.json also carries each job's time marks (`logTimes`:
// "offset:ms ..." per job, where its output stood how long after the log
// started), which record readers ignore and the status page reads.

import { mkdirSync, statSync } from 'node:fs';
import { open, readFile } from 'node:fs/promises';
import { buildRecord } from '../protocol/record-fields.js';
import { join } from 'node:path';
import { writeFileAtomic } from '../common/atomic-write.js';
import { PUSH, type BuildRecord, type JobRecord, type Subject } from '../protocol/records.js';
import { isCommitId, isName, isRequestId } from '../protocol/validate.js';
import { CappedLog, type TimeMarks } from './capped-log.js';
import { HeldBytes } from './file-appender.js';
import { MAX_OUTPUT_IN_REPORT, renderReport, type LogTail } from './report.js';

/** What names a build's files. */
export type ResultOf = Pick<BuildRecord, 'project' | 'subject' | 'commit'>;

/** Hears a job's log open (its first byte on the way to the file) and close (all of it in the file). */
export interface LogWatch {
  opened(path: string, log: CappedLog): void;
  closed(path: string): void;
}

const MIB = 1024 * 1024;
/** Log bytes a refusing disk may hold in memory, per log and for all logs together. */
const HELD_PER_LOG = 8 * MIB;
const HELD_IN_ALL = 64 * MIB;
/** Closed logs whose marks wait for their <sha>.json: as many as result files may wait to be written, and some. */
const MAX_CLOSED_MARKS = 4096;

/** The last `max` bytes of a file (the report shows only the tail of a long log). */
async function readTail(path: string, max: number): Promise<Omit<LogTail, 'job' | 'lost'>> {
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
  /** Set by close(): the dispatcher is stopping, and opens no log more. */
  private closed = false;
  /** JUnit files being written, by build, so the report waits for them. */
  private readonly junitWrites = new Map<string, Promise<unknown>[]>();
  private readonly held = new HeldBytes(HELD_IN_ALL, HELD_PER_LOG);
  /** Time marks of logs closed whose <sha>.json is not written yet (file offsets), by path. */
  private readonly closedMarks = new Map<string, TimeMarks>();

  constructor(readonly dir: string, private readonly maxLogBytes: number, private readonly watch: LogWatch | null = null) {
    mkdirSync(dir, { recursive: true });
  }

  /** The file a job's log is written to. */
  logPath(build: ResultOf, file: string): string {
    if (!file.startsWith(`${build.commit}.`) || !/^[A-Za-z0-9._-]{1,200}$/.test(file)) throw new Error(`refusing a job file name ${JSON.stringify(file)}`);
    return join(this.folder(build), file);
  }

  /** The log being written at `path` now, if one is. */
  liveLog(path: string): CappedLog | undefined {
    return this.logs.get(path);
  }

  /** The folder of a build's results; made only when something is written there. */
  private folder({ project, subject }: { project: string | null; subject: Subject }, create = false): string {
    const parts: string[] = [];
    if (project !== null) {
      if (!isName(project)) throw new Error(`refusing a results folder for ${JSON.stringify(project)}`);
      parts.push(project);
    }
    if (subject.kind === 'patch') {
      if (subject.request === null || !isRequestId(subject.request)) throw new Error(`refusing a patch folder for ${JSON.stringify(subject.request)}`);
      parts.push('patches', subject.request);
    }
    const folder = join(this.dir, ...parts);
    if (create) mkdirSync(folder, { recursive: true });
    return folder;
  }

  private path(build: ResultOf, suffix = '', create = false): string {
    if (!isCommitId(build.commit)) throw new Error(`refusing a result path for ${JSON.stringify(build.commit)}`);
    return join(this.folder(build, create), `${build.commit}${suffix}`);
  }

  /** Where a job's log or JUnit file goes; the folder is made, since it is written next. */
  private jobPath(build: BuildRecord, file: string): string {
    const path = this.logPath(build, file);
    this.folder(build, true);
    return path;
  }

  /** The folder a build's files go in, made if it is not there yet (for its artifacts). */
  buildFolder(build: ResultOf): string {
    return this.folder(build, true);
  }

  /** The folder of a project's push builds (which may not exist yet). */
  folderOf(project: string | null): string {
    return this.folder({ project, subject: PUSH });
  }

  /** The report's path, for the log. */
  describe(build: ResultOf): string {
    return this.path(build);
  }

  /** Where <sha>.json is, for the --on-result hook. */
  jsonPath(build: ResultOf): string {
    return this.path(build, '.json');
  }

  /** The report is written last, so its presence means the result is complete. */
  hasResult(build: ResultOf): boolean {
    try {
      return statSync(this.path(build)).isFile();
    } catch {
      return false;
    }
  }

  /** Appends output to the job's log, live up to the cap (see CappedLog). */
  appendLog(build: BuildRecord, job: JobRecord, text: string): void {
    if (this.closed) return;
    const path = this.jobPath(build, job.log);
    let log = this.logs.get(path);
    if (!log) {
      log = new CappedLog(path, this.maxLogBytes, MAX_OUTPUT_IN_REPORT, this.held);
      this.logs.set(path, log);
      this.watch?.opened(path, log);
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
    const key = this.path(build);
    const writes = this.junitWrites.get(key) ?? [];
    writes.push(writeFileAtomic(this.jobPath(build, file), xml).catch(onError));
    this.junitWrites.set(key, writes);
    return file;
  }

  /**
   * Closes a job's log and returns the last `max` bytes of it (from memory
   * when the log kept them) and what was lost. While the disk refuses the
   * log's bytes the log stays open and this rejects; the next try finishes.
   */
  private async closeLog(path: string, max: number, times: Map<string, string>, job: string): Promise<Omit<LogTail, 'job'>> {
    const log = this.logs.get(path);
    if (!log) {
      // Closed by an earlier try whose files could not be written: its marks were kept for this one.
      const kept = this.closedMarks.get(path);
      if (kept) times.set(job, formatMarks(kept, 0));
      return { ...(await readTail(path, max)), lost: [] };
    }
    const end = await log.close();
    const base = await log.whenOpen();
    times.set(job, formatMarks(log.marks, base));
    this.closedMarks.set(path, log.marks.map((value, i) => (i % 2 === 0 ? value + base : value)));
    // A run retried before its files were written is never written: its marks are let go in time.
    if (this.closedMarks.size > MAX_CLOSED_MARKS) this.closedMarks.delete(this.closedMarks.keys().next().value!);
    this.logs.delete(path);
    this.watch?.closed(path);
    if (!end.tail) return { ...(await readTail(path, max)), lost: end.lost };
    const cut = Math.max(0, end.tail.bytes.length - max);
    return { text: end.tail.bytes.subarray(cut).toString('utf8'), omitted: end.tail.omitted + cut, lost: end.lost };
  }

  /** Flushes the logs, then writes <sha>.json and the readable <sha>, each atomically. */
  async writeResult(build: BuildRecord): Promise<void> {
    const key = this.path(build);
    await Promise.all(this.junitWrites.get(key) ?? []);
    this.junitWrites.delete(key);
    const tails = [];
    const times = new Map<string, string>();
    const share = Math.floor(MAX_OUTPUT_IN_REPORT / Math.max(1, build.jobs.length));
    for (const job of build.jobs) {
      tails.push({ job: job.name, ...(await this.closeLog(this.jobPath(build, job.log), share, times, job.name)) });
    }
    const logTimes = times.size > 0 ? { logTimes: Object.fromEntries(times) } : {};
    await writeFileAtomic(this.path(build, '.json', true), `${JSON.stringify({ ...build, ...logTimes }, null, 2)}\n`);
    // From now on <sha>.json has them.
    for (const job of build.jobs) this.closedMarks.delete(this.logPath(build, job.log));
    await writeFileAtomic(this.path(build, '', true), renderReport(build, tails));
  }

  /** A finished build's record from its result file, checked as the journal's records are; null when there is none. */
  async readResult(build: ResultOf): Promise<BuildRecord | null> {
    try {
      return buildRecord({ record: JSON.parse(await readFile(this.path(build, '.json'), 'utf8')) }, 'record');
    } catch {
      return null;
    }
  }

  /**
   * A job log's time marks as file offsets: from the log while it is written,
   * else from its close until <sha>.json holds them; null when only the
   * file can say (readLogTimes).
   */
  marksOf(build: ResultOf, file: string): TimeMarks | null {
    const path = this.logPath(build, file);
    const open = this.logs.get(path);
    if (open) return null;
    return this.closedMarks.get(path) ?? null;
  }

  /** The time marks of each job's log kept in <sha>.json (file offsets), or null when there are none. */
  async readLogTimes(build: ResultOf): Promise<Record<string, TimeMarks> | null> {
    try {
      const times = (JSON.parse(await readFile(this.path(build, '.json'), 'utf8')) as { logTimes?: unknown }).logTimes;
      if (typeof times !== 'object' || times === null) return null;
      return Object.fromEntries(Object.entries(times).map(([job, marks]) => [job, parseMarks(marks)]));
    } catch {
      return null;
    }
  }

  /** Closes every open log, as far as the disk lets it. */
  /** Writes and closes every log it can; one whose disk refuses it is given up on, so nothing retries after the dispatcher stops. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.logs.values()].map((log) => log.close().catch(() => {})));
    for (const log of this.logs.values()) log.stop();
  }
}

/** "offset:ms offset:ms ...", offsets in the file. */
function formatMarks(marks: TimeMarks, base: number): string {
  const pairs: string[] = [];
  for (let i = 0; i + 1 < marks.length; i += 2) pairs.push(`${base + marks[i]!}:${marks[i + 1]!}`);
  return pairs.join(' ');
}

/** The marks of formatMarks, as numbers; anything malformed is left out. */
function parseMarks(text: unknown): TimeMarks {
  if (typeof text !== 'string') return [];
  const marks: TimeMarks = [];
  for (const pair of text.split(' ')) {
    const match = /^(\d{1,15}):(\d{1,15})$/.exec(pair);
    if (match) marks.push(Number(match[1]), Number(match[2]));
  }
  return marks;
}
