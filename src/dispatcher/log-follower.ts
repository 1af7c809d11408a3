// One reader of one job's log, from a byte offset to the job's end: what is
// already in the file is read from the file (once the log has flushed that
// far), and once caught up the reader takes each write as it happens. A
// receiver that falls behind is not buffered for: the follower stops taking
// live writes, waits for it to drain, and reads the rest from the file, so
// what it holds for anyone stays within a chunk or two and nothing is lost
// or sent twice. Offsets are the file's, so a client that reconnects with
// the last offset it had resumes exactly there.
//
// The end: once the job has finished (and that is durable) and every byte
// of its log up to then is sent. A log past its cap keeps its tail in memory
// until the build's files are written; its follower waits for that too.

import { closeFile, openFile, readSome } from '../common/fs-calls.js';
import { stat } from 'node:fs/promises';
import { LIMITS } from '../protocol/limits.js';
import type { BuildStatus } from '../protocol/records.js';
import type { LiveLogs, LogReader } from './live-logs.js';

export interface FollowSink {
  /** One chunk of the log at `offset`; false when the receiver is behind. `time`: ms after the log started, when known. */
  chunk(offset: number, data: Buffer, time: number | null): boolean;
  /** Resolves once the receiver has taken what it was sent; rejects when it is gone or too slow. */
  drained(): Promise<void>;
}

export interface FollowParts {
  logs: LiveLogs;
  path: string;
  /** The job's status once it has finished (durably); null while it waits or runs. */
  ended(): Promise<BuildStatus | null>;
}

const CHUNK = LIMITS.logChunk;

export class LogFollower implements LogReader {
  private position: number;
  private live = false;
  private behind = false;
  private stopped = false;
  private woken = false;
  private sleeper: (() => void) | null = null;

  constructor(private readonly parts: FollowParts, from: number, private readonly sink: FollowSink) {
    this.position = from;
  }

  /** Where the next byte sent will come from. */
  get offset(): number {
    return this.position;
  }

  /** Sends the log until the job ends; resolves with its status, or null when stopped first. */
  async run(): Promise<BuildStatus | null> {
    this.parts.logs.follow(this.parts.path, this);
    try {
      return await this.pump();
    } finally {
      this.live = false;
      this.parts.logs.unfollow(this.parts.path, this);
    }
  }

  stop(): void {
    this.stopped = true;
    this.wake();
  }

  wake(): void {
    this.woken = true;
    const sleeper = this.sleeper;
    this.sleeper = null;
    sleeper?.();
  }

  written(data: Buffer, offset: number): void {
    if (!this.live || offset !== this.position || this.behind) return this.wake();
    for (let at = 0; at < data.length;) {
      const piece = at === 0 && data.length <= CHUNK ? data : wholeCharacters(data.subarray(at, at + CHUNK), at + CHUNK >= data.length);
      const taken = this.sink.chunk(this.position, piece, this.parts.logs.timeAt(this.parts.path, this.position));
      this.position += piece.length;
      at += piece.length;
      if (!taken) this.behind = true;
    }
    if (this.behind) {
      this.live = false;
      this.wake();
    }
  }

  private async pump(): Promise<BuildStatus | null> {
    const { logs, path } = this.parts;
    while (!this.stopped) {
      this.woken = false;
      if (this.behind) {
        await this.sink.drained();
        this.behind = false;
        continue;
      }
      const open = logs.live(path);
      const end = open ? await this.flushedEnd(open) : await fileSize(path);
      if (this.stopped) break;
      if (this.position < end) {
        const data = await readAt(path, this.position, Math.min(end - this.position, CHUNK));
        if (data.length > 0) {
          const piece = wholeCharacters(data, this.position + data.length >= end);
          if (!this.sink.chunk(this.position, piece, logs.timeAt(path, this.position))) this.behind = true;
          this.position += piece.length;
          continue;
        }
        // Shorter than the log says: bytes a full disk dropped. Nothing to read until it changes.
      } else if (open && logs.live(path) === open && open.base !== null && this.position === open.base + open.log.size) {
        // Caught up, in the same turn as the check: every later write comes to written().
        this.live = true;
      }
      const status = await this.parts.ended();
      if (status !== null && !(open?.log.capped ?? false) && this.caughtUp(open)) return status;
      if (!this.woken && !this.stopped) await new Promise<void>((resolve) => (this.sleeper = resolve));
    }
    return null;
  }

  /** The end of the log once the file holds it all. */
  private async flushedEnd(open: NonNullable<ReturnType<LiveLogs['live']>>): Promise<number> {
    const base = await open.log.whenOpen();
    const size = open.log.size;
    if (this.position < base + size) await open.log.whenFlushed(size);
    return base + size;
  }

  /** Nothing is left to send: live and level with the log, or the log closed and read to its end. */
  private caughtUp(open: ReturnType<LiveLogs['live']>): boolean {
    if (this.behind) return false;
    const now = this.parts.logs.live(this.parts.path);
    if (now !== open) return false;
    if (open) return this.live && open.base !== null && this.position === open.base + open.log.size;
    return !this.woken;
  }
}

/** The longest start of `data` that does not end inside a UTF-8 character (all of it at the log's end, or when nothing would be left). */
export function wholeCharacters(data: Buffer, atEnd = false): Buffer {
  if (atEnd) return data;
  let start = data.length - 1;
  let continuation = 0;
  while (start >= 0 && continuation < 3 && (data[start]! & 0xc0) === 0x80) {
    start -= 1;
    continuation += 1;
  }
  if (start <= 0) return data;
  const lead = data[start]!;
  const length = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
  return length > data.length - start ? data.subarray(0, start) : data;
}

async function fileSize(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch {
    return 0;
  }
}

/** Up to `length` bytes of the file from `offset` (fewer at its end; none when it is missing). */
export async function readAt(path: string, offset: number, length: number): Promise<Buffer> {
  let fd: number;
  try {
    fd = await openFile(path, 'r');
  } catch {
    return Buffer.alloc(0);
  }
  try {
    const buffer = Buffer.alloc(length);
    let got = 0;
    while (got < length) {
      const { bytesRead } = await readSome(fd, buffer, got, length - got, offset + got);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
    return buffer.subarray(0, got);
  } finally {
    await closeFile(fd).catch(() => {});
  }
}
