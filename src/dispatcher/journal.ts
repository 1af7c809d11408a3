// The dispatcher's append-only journal: one JSON record per line, fsynced in
// batches (the records of one turn of the event loop share one fdatasync), and
// compacted into a snapshot so it does not grow without bound.
//
// The batch is written and synced synchronously, on the main thread, as
// Redis does with `appendfsync always`: the libuv threadpool is shared with
// the result files, and a journal write queued behind hundreds of file
// operations held every assignment up by tens of milliseconds. A sync of one
// batch takes a fraction of a millisecond; while it runs nothing the journal
// has not recorded could be answered anyway.
//
// Files under the state folder:
//   dispatcher.snapshot.json  { seq, state }  the state after record `seq`
//   dispatcher.journal        records { seq, ... } since (or around) the snapshot
// Compaction writes the snapshot atomically first, then truncates the journal;
// a crash in between leaves records the snapshot already holds, which replay
// skips by their seq.

import { closeSync, fdatasyncSync, ftruncateSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../common/atomic-write.js';
import type { Log } from '../common/log.js';

/** Fewer records than this are never worth a snapshot. */
const MIN_RECORDS = 1000;

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
  /** Set while a snapshot is written; records wait in memory until it is done. */
  private compaction: Promise<void> | null = null;
  private sinceSnapshot = 0;
  private bytesSinceSnapshot = 0;
  private snapshotBytes = 0;

  private constructor(
    private readonly fd: number,
    private readonly snapshotPath: string,
  ) {}

  /** Opens (creating) the journal in `dir` and returns what to replay. */
  static async open<S, R extends object>(dir: string, log: Log): Promise<{ journal: Journal<S, R> } & Loaded<S, R>> {
    mkdirSync(dir, { recursive: true });
    const snapshotPath = join(dir, 'dispatcher.snapshot.json');
    const journalPath = join(dir, 'dispatcher.journal');
    let snapshot: { seq: number; state: S } | null = null;
    try {
      snapshot = JSON.parse(await readFile(snapshotPath, 'utf8'));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
        throw new Error(`cannot read ${snapshotPath}: ${(error as Error).message}`);
      }
    }
    const text = await readFile(journalPath, 'utf8').catch(() => '');
    const records: R[] = [];
    let seq = snapshot?.seq ?? 0;
    let good = 0;
    const lines = text.split('\n');
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i]!;
      const isLast = i === lines.length - 1;
      if (line === '') {
        if (!isLast) good += 1;
        continue;
      }
      let record: (R & { seq: number }) | null = null;
      try {
        record = JSON.parse(line);
      } catch {
        record = null;
      }
      if (record === null || typeof record.seq !== 'number' || isLast) {
        // A last line without its newline was cut mid-write by a crash.
        log(`journal: ignored ${isLast ? 'a torn last record' : `an unreadable record on line ${i + 1}`} (${line.length} bytes)`);
        if (isLast) break;
        good += Buffer.byteLength(line) + 1;
        continue;
      }
      good += Buffer.byteLength(line) + 1;
      if (record.seq <= seq) continue;
      seq = record.seq;
      records.push(record);
    }
    const fd = openSync(journalPath, 'a+');
    // Drop a torn tail so the next record starts on a line of its own.
    if (good < Buffer.byteLength(text)) ftruncateSync(fd, good);
    const journal = new Journal<S, R>(fd, snapshotPath);
    journal.size = good;
    journal.seq = seq;
    journal.sinceSnapshot = records.length;
    return { journal, snapshot: snapshot?.state ?? null, records };
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
    return this.sinceSnapshot >= MIN_RECORDS && this.bytesSinceSnapshot > 2 * this.snapshotBytes;
  }

  /** Appends a record; resolves once it is on disk (fdatasync). */
  append(record: R): Promise<void> {
    this.seq += 1;
    this.sinceSnapshot += 1;
    const line = `${JSON.stringify({ seq: this.seq, ...record })}\n`;
    this.bytesSinceSnapshot += line.length;
    this.pending.push(line);
    const done = new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject }));
    this.scheduleFlush();
    return done;
  }

  private scheduleFlush(): void {
    if (this.flushScheduled || this.compaction) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      this.flush();
    });
  }

  /** Writes and syncs every waiting record as one batch. */
  private flush(): void {
    if (this.pending.length === 0 || this.compaction) return;
    const lines = this.pending.join('');
    const waiters = this.waiters;
    this.pending = [];
    this.waiters = [];
    const bytes = Buffer.from(lines);
    try {
      writeAll(this.fd, bytes);
      fdatasyncSync(this.fd);
      this.size += bytes.length;
      for (const waiter of waiters) waiter.resolve();
    } catch (error) {
      // A part-written batch (disk full) would glue the next record to a torn
      // line, and replay would skip that record although it was confirmed.
      try {
        ftruncateSync(this.fd, this.size);
      } catch {
        // the next write fails the same way and tries again
      }
      for (const waiter of waiters) waiter.reject(error as Error);
    }
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
    this.snapshotBytes = snapshot.length;
    // Records waiting now are in the snapshot already: written after the
    // truncation, replay skips them by seq, and they count as durable once
    // the snapshot is.
    let done!: () => void;
    this.compaction = new Promise((resolve) => (done = resolve));
    try {
      await writeFileAtomic(this.snapshotPath, snapshot);
      ftruncateSync(this.fd, 0);
      fdatasyncSync(this.fd);
      this.size = 0;
      this.sinceSnapshot = this.seq - seq;
      this.bytesSinceSnapshot = this.pending.reduce((sum, line) => sum + line.length, 0);
    } finally {
      this.compaction = null;
      done();
      this.scheduleFlush();
    }
  }

  async close(): Promise<void> {
    await this.compaction;
    this.flush();
    closeSync(this.fd);
  }
}

/** writeSync may write less than asked (a signal, a full pipe); files take the rest on the next call. */
function writeAll(fd: number, data: Buffer): void {
  for (let offset = 0; offset < data.length;) offset += writeSync(fd, data, offset);
}
