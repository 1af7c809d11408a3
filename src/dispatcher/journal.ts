// The dispatcher's append-only journal: one JSON record per line, fsynced in
// batches (every record waiting when a flush starts shares one fdatasync), and
// compacted into a snapshot so it does not grow without bound.
//
// Files under the state folder:
//   dispatcher.snapshot.json  { seq, state }  the state after record `seq`
//   dispatcher.journal        records { seq, ... } since (or around) the snapshot
// Compaction writes the snapshot atomically first, then truncates the journal;
// a crash in between leaves records the snapshot already holds, which replay
// skips by their seq.

import { mkdirSync } from 'node:fs';
import { open, readFile, type FileHandle } from 'node:fs/promises';
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
  private pending: string[] = [];
  private waiters: Waiter[] = [];
  private flushing: Promise<void> | null = null;
  private compacting = false;
  private sinceSnapshot = 0;
  private bytesSinceSnapshot = 0;
  private snapshotBytes = 0;

  private constructor(
    private readonly handle: FileHandle,
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
    const handle = await open(journalPath, 'a+');
    // Drop a torn tail so the next record starts on a line of its own.
    if (good < Buffer.byteLength(text)) await handle.truncate(good);
    const journal = new Journal<S, R>(handle, snapshotPath);
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
    if (!this.flushing && !this.compacting) this.flushing = this.flush();
    return done;
  }

  private async flush(): Promise<void> {
    while (this.pending.length > 0 && !this.compacting) {
      const lines = this.pending.join('');
      const waiters = this.waiters;
      this.pending = [];
      this.waiters = [];
      try {
        await this.handle.appendFile(lines);
        await this.handle.datasync();
        for (const waiter of waiters) waiter.resolve();
      } catch (error) {
        for (const waiter of waiters) waiter.reject(error as Error);
      }
    }
    this.flushing = null;
  }

  /**
   * Replaces the journal by a snapshot of `state`, which must hold the effect
   * of every record appended so far. Records appended meanwhile wait in
   * memory and are written after the truncation, so none is lost.
   */
  async compact(state: S): Promise<void> {
    if (this.compacting) return;
    this.compacting = true;
    const seq = this.seq;
    const snapshot = JSON.stringify({ seq, state });
    this.snapshotBytes = snapshot.length;
    try {
      if (this.flushing) await this.flushing;
      await writeFileAtomic(this.snapshotPath, snapshot);
      await this.handle.truncate(0);
      await this.handle.datasync();
      this.sinceSnapshot = this.seq - seq;
      this.bytesSinceSnapshot = this.pending.reduce((sum, line) => sum + line.length, 0);
    } finally {
      this.compacting = false;
      if (this.pending.length > 0 && !this.flushing) this.flushing = this.flush();
    }
  }

  async close(): Promise<void> {
    if (this.flushing) await this.flushing;
    await this.handle.close();
  }
}
