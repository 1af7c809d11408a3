// One build's <sha>.log with a size cap: output is written live until the
// head is full; after that only the last TAIL_BYTES are kept in memory, and
// at the end they follow a line saying how much was dropped between.

import { createWriteStream, type WriteStream } from 'node:fs';

export const TAIL_BYTES = 1024 * 1024;

export class CappedLog {
  private readonly stream: WriteStream;
  private readonly headBytes: number;
  private written = 0;
  private tail: Buffer[] = [];
  private tailBytes = 0;
  private dropped = 0;

  constructor(path: string, maxBytes: number) {
    this.headBytes = Math.max(0, maxBytes - TAIL_BYTES);
    this.stream = createWriteStream(path, { flags: 'a' });
    // A failing log write (disk full) must not crash the dispatcher; the
    // final report still carries the outcome.
    this.stream.on('error', () => {});
  }

  append(text: string): void {
    let data = Buffer.from(text, 'utf8');
    const room = this.headBytes - this.written;
    if (room > 0) {
      const head = data.subarray(0, room);
      this.stream.write(head);
      this.written += head.length;
      data = data.subarray(head.length);
    }
    if (data.length > 0) this.keepTail(data);
  }

  private keepTail(data: Buffer): void {
    this.tail.push(data);
    this.tailBytes += data.length;
    while (this.tailBytes > TAIL_BYTES) {
      const first = this.tail[0]!;
      const excess = this.tailBytes - TAIL_BYTES;
      if (first.length <= excess) {
        this.tail.shift();
        this.tailBytes -= first.length;
        this.dropped += first.length;
      } else {
        this.tail[0] = first.subarray(excess);
        this.tailBytes -= excess;
        this.dropped += excess;
      }
    }
  }

  /** Writes the kept tail (after a note of what was dropped) and closes the file. */
  close(): Promise<void> {
    if (this.dropped > 0) {
      this.stream.write(`\n[keel: ${this.dropped} bytes of output dropped here: the log keeps the first ${this.written} and the last ${this.tailBytes} bytes (--max-log-mib)]\n`);
    }
    for (const piece of this.tail) this.stream.write(piece);
    this.tail = [];
    return new Promise((resolve) => this.stream.end(resolve));
  }
}
