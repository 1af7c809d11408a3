// Who follows which job's log, fed by the writes the log file gets (the
// CappedLog of result-store.ts): one listener per open log, and only while
// someone follows it, so a log nobody watches costs nothing more than it
// did. Followers register by the log's path before the log exists (a queued
// job) and are woken when it opens, is written to or closes.

import type { CappedLog, TimeMarks } from './capped-log.js';
import type { LogWatch } from './result-store.js';

/** What the hub needs of a follower (log-follower.ts). */
export interface LogReader {
  /** Bytes `data` went to the file at `offset`. */
  written(data: Buffer, offset: number): void;
  /** Something changed for this log: it opened, closed, or was written while the follower was not live. */
  wake(): void;
}

export interface OpenLog {
  log: CappedLog;
  /** The file offset of the log's first byte, once its file is open. */
  base: number | null;
}

export class LiveLogs implements LogWatch {
  private readonly open = new Map<string, OpenLog>();
  private readonly readers = new Map<string, Set<LogReader>>();

  opened(path: string, log: CappedLog): void {
    const entry: OpenLog = { log, base: null };
    this.open.set(path, entry);
    void log.whenOpen().then((base) => {
      entry.base = base;
      this.wakeAll(path);
    });
    this.attach(path);
    this.wakeAll(path);
  }

  closed(path: string): void {
    const entry = this.open.get(path);
    if (entry) entry.log.onWrite = null;
    this.open.delete(path);
    this.wakeAll(path);
  }

  /** The log at `path` while it is being written. */
  live(path: string): OpenLog | undefined {
    return this.open.get(path);
  }

  /** Milliseconds after the log started when its output reached `offset`, while the log is live. */
  timeAt(path: string, offset: number): number | null {
    const entry = this.open.get(path);
    if (!entry || entry.base === null) return null;
    return timeAt(entry.log.marks, offset - entry.base);
  }

  follow(path: string, reader: LogReader): void {
    let set = this.readers.get(path);
    if (!set) {
      set = new Set();
      this.readers.set(path, set);
    }
    set.add(reader);
    this.attach(path);
  }

  unfollow(path: string, reader: LogReader): void {
    const set = this.readers.get(path);
    if (!set) return;
    set.delete(reader);
    if (set.size > 0) return;
    this.readers.delete(path);
    const entry = this.open.get(path);
    if (entry) entry.log.onWrite = null;
  }

  /** Followers in all, for the figures. */
  get followers(): number {
    let count = 0;
    for (const set of this.readers.values()) count += set.size;
    return count;
  }

  private attach(path: string): void {
    const entry = this.open.get(path);
    const set = this.readers.get(path);
    if (!entry || !set) return;
    entry.log.onWrite = (data, position) => {
      if (entry.base === null) return this.wakeAll(path);
      const offset = entry.base + position;
      for (const reader of [...set]) reader.written(data, offset);
    };
  }

  private wakeAll(path: string): void {
    for (const reader of [...(this.readers.get(path) ?? [])]) reader.wake();
  }
}

/** The time of the last mark at or before `position` (marks are [position, ms, ...] in order). */
export function timeAt(marks: TimeMarks, position: number): number | null {
  let low = 0;
  let high = marks.length / 2 - 1;
  let found: number | null = null;
  while (low <= high) {
    const middle = (low + high) >> 1;
    if (marks[2 * middle]! <= position) {
      found = marks[2 * middle + 1]!;
      low = middle + 1;
    } else {
      high = middle - 1;
    }
  }
  return found;
}
