// One build's <sha>.log with a size cap: output is written live until the
// head is full; after that only the last TAIL_BYTES are kept in memory, and
// at the end they follow a line saying how much was dropped between. Bytes
// a full disk would not take wait in the FileAppender; those it had to drop
// are listed when the log closes, and said at its end.
//
// The log also remembers the end of what it wrote, so the report can show
// the last of the output without opening the file again. A log that was
// already there when it was opened (a job running across a dispatcher
// restart) does not know the start of its file: `close` returns null, and
// the caller reads the file instead.
//
// Live followers see what goes to the file, as it goes: `onWrite` hears every
// chunk written (so past the cap they see nothing until the kept tail is
// written at close, as the file does), and the log keeps time marks — where
// in the file the output stood, how long after the log started — so a page
// can say when each line came.
/** A new time mark at most this often; past MAX_MARKS, every other one goes and the spacing doubles. */
const MARK_SPACING_MS = 100;
const MAX_MARKS = 4096;

import { FileAppender, type HeldBytes, type LostRange } from './file-appender.js';

export const TAIL_BYTES = 1024 * 1024;

/** The last `limit` bytes pushed through it, as the chunks they came in. */
class ByteWindow {
  private chunks: Buffer[] = [];
  private size = 0;
  /** Bytes pushed out of the window so far. */
  dropped = 0;

  constructor(private readonly limit: number) {}

  push(data: Buffer): void {
    this.chunks.push(data);
    this.size += data.length;
    while (this.size > this.limit) {
      const first = this.chunks[0]!;
      const excess = this.size - this.limit;
      const cut = Math.min(first.length, excess);
      if (cut === first.length) this.chunks.shift();
      else this.chunks[0] = first.subarray(cut);
      this.size -= cut;
      this.dropped += cut;
    }
  }

  get bytes(): number {
    return this.size;
  }

  take(): Buffer[] {
    const chunks = this.chunks;
    this.chunks = [];
    this.size = 0;
    return chunks;
  }
}

/** The end of a closed log: its last bytes and how many came before them (null when the log does not know its start), and what was lost. */
export interface LogEnd {
  tail: { bytes: Buffer; omitted: number } | null;
  lost: LostRange[];
}

/** Time marks: [position, ms since the log started, position, ms, ...], positions counted from this log's first byte. */
export type TimeMarks = number[];

/** Hears each chunk on its way to the file, with its position among this log's bytes. */
export type WriteListener = (data: Buffer, position: number) => void;

export class CappedLog {
  private readonly file: FileAppender;
  private readonly headBytes: number;
  private written = 0;
  private readonly tail = new ByteWindow(TAIL_BYTES);
  private readonly end: ByteWindow;
  private ending = false;
  private startedAt = 0;
  private markSpacing = MARK_SPACING_MS;
  private readonly timeMarks: TimeMarks = [];
  /** Set while someone follows this log. */
  onWrite: WriteListener | null = null;

  /** `endBytes`: how much of the end of the file `close` returns. */
  constructor(path: string, maxBytes: number, endBytes: number, held: HeldBytes) {
    this.headBytes = Math.max(0, maxBytes - TAIL_BYTES);
    this.end = new ByteWindow(endBytes);
    this.file = new FileAppender(path, held);
  }

  append(text: string): void {
    let data = Buffer.from(text, 'utf8');
    const room = this.headBytes - this.written;
    if (room > 0) {
      const head = data.subarray(0, room);
      this.write(head);
      this.written += head.length;
      data = data.subarray(head.length);
    }
    if (data.length > 0) this.tail.push(data);
  }

  private write(data: Buffer): void {
    if (data.length === 0) return;
    const position = this.file.size;
    this.mark(position);
    this.file.append(data);
    this.end.push(data);
    this.onWrite?.(data, position);
  }

  private mark(position: number): void {
    const now = Date.now();
    if (this.timeMarks.length === 0) this.startedAt = now;
    const last = this.timeMarks.at(-1);
    if (last !== undefined && now - this.startedAt - last < this.markSpacing) return;
    if (this.timeMarks.length >= 2 * MAX_MARKS) {
      // Keep every other mark: the times stay right, only coarser.
      const kept = this.timeMarks.filter((_, i) => i % 4 < 2);
      this.timeMarks.splice(0, this.timeMarks.length, ...kept);
      this.markSpacing *= 2;
    }
    this.timeMarks.push(position, now - this.startedAt);
  }

  /** Bytes sent to the file so far (from this log's first byte). */
  get size(): number {
    return this.file.size;
  }

  /** Output past the cap waits in memory for the close; a follower waits for it too. */
  get capped(): boolean {
    return this.tail.bytes > 0 || this.tail.dropped > 0;
  }

  get marks(): TimeMarks {
    return this.timeMarks;
  }

  /** The file offset of this log's first byte: 0, or the size of the file it continues. */
  whenOpen(): Promise<number> {
    return this.file.whenOpen();
  }

  /** Resolves once this log's bytes before `position` are in the file. */
  whenFlushed(position: number): Promise<void> {
    return this.file.whenFlushed(position);
  }

  /** Stops retrying a disk that refuses the file (the dispatcher is stopping). */
  stop(): void {
    this.file.stop();
  }

  /**
   * Writes the kept tail (after a note of what was dropped), closes the file
   * and returns its end. Rejects while the disk refuses the bytes; calling it
   * again later finishes the job.
   */
  async close(): Promise<LogEnd> {
    if (!this.ending) {
      this.ending = true;
      if (this.tail.dropped > 0) {
        this.write(Buffer.from(`\n[keel: ${this.tail.dropped} bytes of output dropped here: the log keeps the first ${this.written} and the last ${this.tail.bytes} bytes (--max-log-mib)]\n`));
      }
      for (const piece of this.tail.take()) this.write(piece);
    }
    await this.file.close();
    const { lost } = this.file;
    if (this.file.existed) return { tail: null, lost };
    return { tail: { bytes: Buffer.concat(this.end.take()), omitted: this.end.dropped }, lost };
  }
}
