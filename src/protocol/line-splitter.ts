import { ErrorCode } from './error-codes.js';
import { ProtocolError } from './errors.js';

import { LIMITS } from './limits.js';

export const MAX_LINE_BYTES = LIMITS.lineBytes;

const NEWLINE = 0x0a;

/**
 * Turns arbitrary byte chunks into complete lines (without the newline).
 * A line longer than `maxBytes` throws instead of being buffered, so a
 * hostile peer cannot make us hold more than `maxBytes` of its input.
 */
export class LineSplitter {
  private pending: Buffer[] = [];
  private pendingBytes = 0;

  constructor(private readonly maxBytes: number = MAX_LINE_BYTES) {}

  push(chunk: Buffer): Buffer[] {
    const lines: Buffer[] = [];
    let start = 0;
    for (let nl = chunk.indexOf(NEWLINE); nl !== -1; nl = chunk.indexOf(NEWLINE, start)) {
      const piece = chunk.subarray(start, nl);
      this.checkLength(this.pendingBytes + piece.length);
      lines.push(this.pendingBytes === 0 ? piece : Buffer.concat([...this.pending, piece]));
      this.pending = [];
      this.pendingBytes = 0;
      start = nl + 1;
    }
    if (start < chunk.length) {
      const rest = chunk.subarray(start);
      this.checkLength(this.pendingBytes + rest.length);
      this.pending.push(rest);
      this.pendingBytes += rest.length;
    }
    return lines;
  }

  /** Bytes received after the last newline (a peer that vanished mid-message). */
  get remainder(): number {
    return this.pendingBytes;
  }

  private checkLength(bytes: number): void {
    if (bytes > this.maxBytes) {
      this.pending = [];
      this.pendingBytes = 0;
      throw new ProtocolError(
        ErrorCode.lineTooLong,
        `line longer than ${this.maxBytes} bytes`,
      );
    }
  }
}
