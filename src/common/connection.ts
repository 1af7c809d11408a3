// One wrapper per socket: feeds bytes to the line splitter, decodes each line,
// sends typed messages, and settles `closed` once with the cause. A line that
// fails to decode is answered with an `error` message; the socket is closed
// too unless the handler says the peer may go on, or that it has answered the
// line itself (a line too long always closes it, since the stream is no
// longer in step).

import type { Socket } from 'node:net';
import { decode, encode } from '../protocol/codec.js';
import { ErrorCode } from '../protocol/error-codes.js';
import { ProtocolError } from '../protocol/errors.js';
import { LineSplitter, MAX_LINE_BYTES } from '../protocol/line-splitter.js';
import type { Message } from '../protocol/messages.js';
import { trace } from './log.js';

/** Returned by onProtocolError when the handler has answered the bad line itself: nothing is sent and the connection goes on. */
export const ANSWERED: unique symbol = Symbol('answered');

export interface ConnectionHandlers {
  onMessage(message: Message): void;
  /**
   * Called for each line that fails to decode, with the line (null when
   * there is no whole line: one too long). Return true to answer it with an
   * `error` and go on, ANSWERED to go on without a word; anything else
   * answers it and closes the connection.
   */
  onProtocolError?(error: ProtocolError, line: Buffer | null): unknown;
  /** Called after each chunk read, once its whole lines are handled (see `buffered`). */
  onData?(): void;
}

/** Why a connection ended: null for a clean close by either side. */
export type CloseCause = Error | null;

const FLUSH_BEFORE_DESTROY_MS = 1000;

export class Connection {
  readonly closed: Promise<CloseCause>;
  readonly remote: string;
  private readonly splitter: LineSplitter;
  private isClosed = false;
  private cause: CloseCause = null;
  private settle!: (cause: CloseCause) => void;

  constructor(
    private readonly socket: Socket,
    private readonly handlers: ConnectionHandlers,
    maxLineBytes: number = MAX_LINE_BYTES,
  ) {
    this.remote = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
    this.splitter = new LineSplitter(maxLineBytes);
    this.closed = new Promise((resolve) => (this.settle = resolve));
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    socket.on('error', (error) => {
      this.cause ??= error;
    });
    socket.on('close', () => this.finish());
  }

  get isOpen(): boolean {
    return !this.isClosed;
  }

  /**
   * Queues a message; false when closed or when the peer is not keeping up.
   * Messages sent in the same tick (a job and a `recorded`, say) leave in one
   * write instead of one system call each.
   */
  send(message: Message): boolean {
    if (this.isClosed || this.socket.destroyed) return false;
    trace('send %s %s', this.remote, message.type);
    if (this.socket.writableCorked === 0) {
      this.socket.cork();
      process.nextTick(() => this.socket.uncork());
    }
    return this.socket.write(encode(message));
  }

  /** Bytes of a line that has begun and not yet ended: what this peer makes us hold. */
  get buffered(): number {
    return this.splitter.remainder;
  }

  /** True while more than the socket's buffer is waiting to be written. */
  get needsDrain(): boolean {
    return this.socket.writableNeedDrain;
  }

  onDrain(listener: () => void): void {
    this.socket.once('drain', listener);
  }

  /** Sends an `error` message, then closes. */
  fail(code: ErrorCode, message: string, cause?: Error): void {
    this.send({ type: 'error', code, message });
    this.close(cause ?? new Error(`${code}: ${message}`));
  }

  /**
   * Ends the socket after pending writes; destroys it if the peer does not
   * let go. Reading goes on (and is ignored), so the peer's own close is seen.
   */
  close(cause: CloseCause = null): void {
    if (this.isClosed) return;
    this.cause ??= cause;
    this.isClosed = true;
    this.socket.end();
    const timer = setTimeout(() => this.socket.destroy(), FLUSH_BEFORE_DESTROY_MS);
    this.socket.once('close', () => clearTimeout(timer));
  }

  /** Closes at once, dropping anything unsent. */
  destroy(cause: CloseCause = null): void {
    this.cause ??= cause;
    this.isClosed = true;
    this.socket.destroy();
  }

  private receive(chunk: Buffer): void {
    if (this.isClosed) return;
    let lines: Buffer[];
    try {
      lines = this.splitter.push(chunk);
    } catch (error) {
      this.reject(error, null);
      return;
    }
    for (const line of lines) {
      if (this.isClosed) return;
      if (line.length === 0 || (line.length === 1 && line[0] === 0x0d)) continue;
      const body = line[line.length - 1] === 0x0d ? line.subarray(0, -1) : line;
      let message: Message;
      try {
        message = decode(body);
      } catch (error) {
        if (this.reject(error, body)) continue;
        return;
      }
      trace('recv %s %s', this.remote, message.type);
      this.handlers.onMessage(message);
    }
    this.handlers.onData?.();
  }

  /** Answers a bad line; true when the connection stays open. */
  private reject(failure: unknown, line: Buffer | null): boolean {
    // Whatever went wrong reading a peer's line is that peer's bad line, never a crash.
    const error = failure instanceof ProtocolError
      ? failure
      : new ProtocolError(ErrorCode.badJson, `line could not be read: ${(failure as Error)?.message ?? String(failure)}`, { cause: failure });
    const verdict = this.handlers.onProtocolError?.(error, line);
    if (error.code === ErrorCode.lineTooLong || (verdict !== true && verdict !== ANSWERED)) {
      this.fail(error.code, error.message, error);
      return false;
    }
    if (verdict === true) this.send({ type: 'error', code: error.code, message: error.message });
    return true;
  }

  private finish(): void {
    this.isClosed = true;
    if (this.splitter.remainder > 0 && this.cause === null) {
      this.cause = new Error(`peer closed mid-message (${this.splitter.remainder} bytes discarded)`);
    }
    this.settle(this.cause);
  }
}
