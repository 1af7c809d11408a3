// Heartbeats, both ends. The dispatcher pings every registered runner and
// observer each interval and drops the ones it has not heard from for the
// deadline (any message counts as a sign of life, not only `pong`). A peer
// watches the other way: no message from the dispatcher for the deadline and
// it drops the connection and dials again. Three missed pings by default:
// cheap at a thousand peers, tolerant of a GC pause, quick on a frozen host.

export interface HeartbeatOptions<P> {
  intervalMs: number;
  deadlineMs: number;
  ping(peer: P, seq: number): void;
  /** `peer` has been silent for `silentMs`; it is no longer tracked. */
  silent(peer: P, silentMs: number): void;
}

/** The dispatcher's side; its timer runs only while some peer is tracked. */
export class Heartbeats<P> {
  private readonly lastSeen = new Map<P, number>();
  private timer: NodeJS.Timeout | null = null;
  private seq = 0;

  constructor(private readonly options: HeartbeatOptions<P>) {}

  track(peer: P): void {
    this.lastSeen.set(peer, Date.now());
    this.timer ??= setInterval(() => this.beat(), this.options.intervalMs);
  }

  untrack(peer: P): void {
    this.lastSeen.delete(peer);
    if (this.lastSeen.size === 0) this.stop();
  }

  /** When `peer` was last heard from (ms since the epoch), if it is tracked. */
  lastSeenOf(peer: P): number | undefined {
    return this.lastSeen.get(peer);
  }

  /** Any message from `peer` shows it is alive. */
  seen(peer: P): void {
    if (this.lastSeen.has(peer)) this.lastSeen.set(peer, Date.now());
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private beat(): void {
    const now = Date.now();
    this.seq += 1;
    for (const [peer, seen] of [...this.lastSeen]) {
      const silentMs = now - seen;
      if (silentMs <= this.options.deadlineMs) {
        this.options.ping(peer, this.seq);
        continue;
      }
      this.untrack(peer);
      this.options.silent(peer, silentMs);
    }
  }
}

/** A peer's side: calls `onSilent` once the dispatcher has said nothing for `deadlineMs`. */
export class Watchdog {
  private timer: NodeJS.Timeout | null = null;
  private kicks = 0;

  constructor(private readonly deadlineMs: number, private readonly onSilent: () => void) {}

  /** Something arrived: the deadline starts again. */
  kick(): void {
    this.kicks += 1;
    if (this.timer) this.timer.refresh();
    else this.timer = setTimeout(() => this.expire(), this.deadlineMs);
  }

  /**
   * Timers run before pending reads: after a long stall of this process the
   * deadline passes with the dispatcher's pings still unread. Look once more
   * after the reads (setImmediate) before calling it silent.
   */
  private expire(): void {
    const kicks = this.kicks;
    setImmediate(() => {
      if (this.timer === null) return;
      if (this.kicks !== kicks) this.timer.refresh();
      else this.onSilent();
    });
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}
