// The dispatcher's append-only journal: one record per line, fsynced in
// batches (the records of one turn of the event loop share one fdatasync),
// and compacted into a snapshot so it does not grow without bound.
//
// The batch is written and synced synchronously, on the main thread, as
// Redis does with `appendfsync always`: the libuv threadpool is shared with
// the result files, and a journal write queued behind hundreds of file
// operations held every assignment up by tens of milliseconds. A sync of one
// batch takes a fraction of a millisecond.
//
// A write that fails (a full disk) is not given up: the batch stays in
// memory and is written again, with backoff, until it is on disk; until then
// every promise that waits on it waits, so nothing that depends on it is
// acknowledged or sent, and work resumes by itself once space returns.
//
// Each line is `<crc32 in 8 hex digits> <JSON>` (see journal-read.ts, which
// reads it back and checks every record); lines of older journals (plain
// JSON) are still read.
//
// Files under the state folder:
//   dispatcher.snapshot.json  { seq, state }  the state after record `seq`
//   dispatcher.journal        records { seq, ... } since (or around) the snapshot
// Compaction writes the snapshot atomically first, then truncates the journal;
// a crash in between leaves records the snapshot already holds, which replay
// skips by their seq.

import { closeSync, fdatasyncSync, ftruncateSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../common/atomic-write.js';
import { backoffDelay } from '../common/backoff.js';
import type { Log } from '../common/log.js';
import { formatLine, readJournal, type OpenOptions } from './journal-read.js';

export { formatLine, JournalError, type JournalFormat } from './journal-read.js';

/** Fewer records than this are never worth a snapshot. */
const MIN_RECORDS = 1000;
const WRITE_RETRY = { baseMs: 50, capMs: 2000 };
/** After a snapshot could not be written, the next try waits this long. */
const COMPACTION_RETRY_MS = 30_000;

export interface Loaded<S, R> {
  snapshot: S | null;
  records: R[];
}

interface Waiter {
  resolve(): void;
  reject(error: Error): void;
}

export class Journal<S, R extends object> {
  private seq = 0;
  /** Bytes of whole records in the file: a failed write is cut back to it. */
  private size = 0;
  private pending: string[] = [];
  private waiters: Waiter[] = [];
  private flushScheduled = false;
  private retryTimer: NodeJS.Timeout | null = null;
  private failures = 0;
  /** Why the last write failed, while records wait to be written again. */
  stalled: Error | null = null;
  /** Set while a snapshot is written; records wait in memory until it is done. */
  private compaction: Promise<void> | null = null;
  private compactNotBefore = 0;
  private sinceSnapshot = 0;
  private bytesSinceSnapshot = 0;
  private snapshotBytes = 0;
  private closed = false;

  private constructor(
    private readonly fd: number,
    private readonly snapshotPath: string,
    private readonly log: Log,
  ) {}

  /** Opens (creating) the journal in `dir` and returns what to replay. Throws JournalError for a damaged journal. */
  static async open<S, R extends object>(dir: string, options: OpenOptions<S, R>): Promise<{ journal: Journal<S, R> } & Loaded<S, R>> {
    mkdirSync(dir, { recursive: true });
    const snapshotPath = join(dir, 'dispatcher.snapshot.json');
    const journalPath = join(dir, 'dispatcher.journal');
    const replay = await readJournal(snapshotPath, journalPath, options);
    const fd = openSync(journalPath, 'a+');
    // Drop a torn tail (or what --recover moved aside) so the next record starts on a line of its own.
    if (replay.good < replay.size) ftruncateSync(fd, replay.good);
    const journal = new Journal<S, R>(fd, snapshotPath, options.log);
    journal.size = replay.good;
    journal.seq = replay.seq;
    journal.sinceSnapshot = replay.records.length;
    return { journal, snapshot: replay.snapshot, records: replay.records };
  }

  /** Records since the last snapshot. */
  get length(): number {
    return this.sinceSnapshot;
  }

  /**
   * Time to compact: the records since the last snapshot outweigh it. Tied to
   * the snapshot's size, so a large state is not rewritten every few records.
   */
  get wantsCompaction(): boolean {
    return this.stalled === null && this.compaction === null && Date.now() >= this.compactNotBefore
      && this.sinceSnapshot >= MIN_RECORDS && this.bytesSinceSnapshot > 2 * this.snapshotBytes;
  }

  /** Appends a record; resolves once it is on disk (fdatasync), however long that takes. */
  append(record: R): Promise<void> {
    if (this.closed) return Promise.reject(new Error('the journal is closed'));
    this.seq += 1;
    this.sinceSnapshot += 1;
    const line = formatLine(JSON.stringify({ seq: this.seq, ...record }));
    this.bytesSinceSnapshot += line.length;
    this.pending.push(line);
    const done = new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject }));
    this.scheduleFlush();
    return done;
  }

  /** Resolves once every record appended so far is on disk. */
  synced(): Promise<void> {
    if (this.waiters.length === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  private scheduleFlush(): void {
    if (this.flushScheduled || this.compaction || this.retryTimer) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      this.flush();
    });
  }

  /** Writes and syncs every waiting record as one batch; on failure keeps them and tries again later. */
  private flush(): void {
    if (this.compaction) return;
    if (this.pending.length === 0) {
      this.settle(this.waiters.splice(0));
      return;
    }
    const bytes = Buffer.from(this.pending.join(''));
    try {
      writeAll(this.fd, bytes);
      fdatasyncSync(this.fd);
    } catch (error) {
      // A part-written batch (disk full) would glue the next record to a torn
      // line, and replay would skip that record although it was confirmed.
      try {
        ftruncateSync(this.fd, this.size);
      } catch {
        // the next write fails the same way and tries again
      }
      this.stall(error as Error);
      return;
    }
    this.size += bytes.length;
    this.pending = [];
    if (this.stalled) this.log(`journal: written again after ${this.failures} failed attempt(s); ${this.waiters.length} waiting change(s) are recorded`);
    this.stalled = null;
    this.failures = 0;
    this.settle(this.waiters.splice(0));
  }

  private stall(error: Error): void {
    if (this.stalled === null) this.log(`journal: cannot write ${this.pending.length} record(s): ${error.message}; nothing that depends on them is acknowledged until they are written; trying again`);
    this.stalled = error;
    if (this.closed) return;
    const delay = backoffDelay(this.failures, WRITE_RETRY);
    this.failures += 1;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.flush();
    }, delay);
  }

  private settle(waiters: Waiter[]): void {
    for (const waiter of waiters) waiter.resolve();
  }

  /**
   * Replaces the journal by a snapshot of `state`, which must hold the effect
   * of every record appended so far. Records appended meanwhile wait in
   * memory and are written after the truncation, so none is lost.
   */
  async compact(state: S): Promise<void> {
    if (this.compaction) return;
    const seq = this.seq;
    const snapshot = JSON.stringify({ seq, state });
    // What waits to be written now is in the snapshot: once it is on disk, so are they.
    const covered = this.pending.length;
    const coveredWaiters = this.waiters.length;
    let done!: () => void;
    this.compaction = new Promise((resolve) => (done = resolve));
    try {
      await writeFileAtomic(this.snapshotPath, snapshot);
      this.snapshotBytes = snapshot.length;
      ftruncateSync(this.fd, 0);
      fdatasyncSync(this.fd);
      this.size = 0;
      this.pending.splice(0, covered);
      this.settle(this.waiters.splice(0, coveredWaiters));
      this.sinceSnapshot = this.seq - seq;
      this.bytesSinceSnapshot = this.pending.reduce((sum, line) => sum + line.length, 0);
    } catch (error) {
      this.compactNotBefore = Date.now() + COMPACTION_RETRY_MS;
      this.log(`journal: compaction failed: ${(error as Error).message}; trying again in ${COMPACTION_RETRY_MS / 1000} s`);
    } finally {
      this.compaction = null;
      done();
      this.scheduleFlush();
    }
  }

  /** Writes what is waiting (one try) and closes; changes that still cannot be written were never acknowledged. */
  async close(): Promise<void> {
    await this.compaction;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.closed = true;
    this.flush();
    if (this.pending.length > 0) {
      this.log(`journal: ${this.pending.length} record(s) could not be written (${this.stalled?.message}); none of them was acknowledged`);
      for (const waiter of this.waiters.splice(0)) waiter.reject(new Error('the journal closed before this was written'));
    }
    closeSync(this.fd);
  }
}

/** writeSync may write less than asked (a signal, a full pipe); files take the rest on the next call. */
function writeAll(fd: number, data: Buffer): void {
  for (let offset = 0; offset < data.length;) offset += writeSync(fd, data, offset);
}
