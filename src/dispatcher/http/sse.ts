// One Server-Sent Events response: the headers that keep proxies from
// holding it back (X-Accel-Buffering for nginx, no caching, no
// compression), events written as `id`/`event`/`data` lines with the data
// as one JSON line, comments as keep-alives. A receiver that does not keep
// up is not buffered for without end: with LIMITS.followerBacklog unread
// bytes it gets no more (one event past that at most), and when it will not
// drain for DRAIN_TIMEOUT_MS it is dropped (an
// EventSource reconnects, and a log stream resumes at its Last-Event-ID).

import type { ServerResponse } from 'node:http';
import { LIMITS } from '../../protocol/limits.js';
import { SECURITY_HEADERS, TYPES } from './respond.js';

const DRAIN_TIMEOUT_MS = 30_000;
/** How soon a dropped or ended EventSource tries again. */
const RETRY_MS = 2000;

export class EventStream {
  readonly closed: Promise<void>;
  private ended = false;

  constructor(private readonly res: ServerResponse) {
    this.closed = new Promise((resolve) => res.once('close', () => {
      this.ended = true;
      resolve();
    }));
    res.writeHead(200, {
      ...SECURITY_HEADERS,
      'Content-Type': TYPES.events,
      'Cache-Control': 'no-store',
      'X-Accel-Buffering': 'no',
      Connection: 'keep-alive',
    });
    res.write(`retry: ${RETRY_MS}\n\n`);
  }

  get isOpen(): boolean {
    return !this.ended && !this.res.destroyed;
  }

  /** One event; false when the receiver is behind (it is dropped once it is too far behind). */
  send(event: string, data: unknown, id?: number): boolean {
    if (!this.isOpen) return false;
    if (this.res.writableLength > LIMITS.followerBacklog) {
      this.drop();
      return false;
    }
    // The events of one turn (a burst of output) leave in one write, not a system call each.
    if (this.res.writableCorked === 0) {
      this.res.cork();
      process.nextTick(() => this.res.uncork());
    }
    return this.res.write(`${id === undefined ? '' : `id: ${id}\n`}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  }

  comment(text: string): void {
    if (this.isOpen) this.res.write(`: ${text}\n\n`);
  }

  /** Resolves once the receiver has read what it was sent; rejects (and drops it) when it is gone or too slow. */
  drained(): Promise<void> {
    if (!this.isOpen) return Promise.reject(new Error('the event stream is closed'));
    if (!this.res.writableNeedDrain) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.drop();
        reject(new Error('the receiver did not read for too long'));
      }, DRAIN_TIMEOUT_MS);
      const settle = (ok: boolean) => {
        clearTimeout(timer);
        this.res.off('drain', onDrain);
        if (ok) resolve();
        else reject(new Error('the event stream closed'));
      };
      const onDrain = () => settle(true);
      this.res.once('drain', onDrain);
      void this.closed.then(() => settle(false));
    });
  }

  end(): void {
    if (!this.isOpen) return;
    this.ended = true;
    this.res.end();
  }

  private drop(): void {
    this.ended = true;
    this.res.destroy();
  }
}
