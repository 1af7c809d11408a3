// A runner's time with the dispatcher: it registers (reclaiming the leases
// it still holds, and only those issued to its own name), may drain, and
// leaves — its connection closes, or it goes silent past the deadline —
// and then its jobs go back to the front of the queue.

import type { Log } from '../common/log.js';
import { keyOf } from './records.js';
import type { RunnerPeer, RunnerRegistry } from './runner-registry.js';
import type { Scheduler } from './scheduler.js';

export interface Registration {
  name: string;
  slots: number;
  labels: string[];
  /** Leases it says it still holds: running, or finished and not yet recorded. */
  leases: string[];
  /** Its connection may carry secrets. */
  secure?: boolean;
}

export class RunnerSessions {
  constructor(
    private readonly scheduler: Scheduler,
    private readonly runners: RunnerRegistry,
    private readonly log: Log,
  ) {}

  /**
   * Registers a runner. Leases it says it holds that were issued to its name
   * and are held by nobody else live are bound to it again; the other leases
   * of its name that it does not hold are lost.
   */
  register(peer: RunnerPeer, { name, slots, labels, leases, secure }: Registration): void {
    const { conn, replaced } = this.runners.add(name, slots, labels, peer, secure);
    if (replaced) replaced.peer.close(new Error(`replaced by a new connection of runner ${name}`));
    this.log(`runner ${name} registered (${slots} slot${slots === 1 ? '' : 's'}${labels.length ? `, labels ${labels.join(',')}` : ''})`);
    const holds = new Set(leases);
    for (const lease of [...this.scheduler.state.leases.values()]) {
      if (lease.attempt.runner !== name || this.runners.holder(lease.id) !== undefined) continue;
      if (holds.has(lease.id)) {
        this.runners.bind(lease.id, conn);
        this.log(`runner ${name} reclaimed ${keyOf(lease.build)} (${lease.job.name}) attempt ${lease.attempt.attempt}`);
      } else {
        this.scheduler.lose(lease.id, `runner ${name} came back without it`);
      }
    }
    this.scheduler.schedule();
  }

  /** The runner's connection closed or went silent: its jobs go back to the front of the queue. */
  left(peer: RunnerPeer, reason: string): void {
    const conn = this.runners.remove(peer);
    if (!conn) return;
    this.log(`runner ${conn.name} lost: ${reason}`);
    for (const lease of [...conn.leases]) this.scheduler.lose(lease, `runner ${conn.name} lost: ${reason}`);
    this.scheduler.schedule();
  }

  /** A draining runner finishes what it has and gets nothing new. */
  drain(peer: RunnerPeer): void {
    const conn = this.runners.of(peer);
    if (!conn || conn.draining) return;
    this.runners.drain(conn);
    this.log(`runner ${conn.name} draining`);
  }

  /** Jobs that were running when the last dispatcher stopped and that nobody reclaimed go back to the queue. */
  expireOrphans(reason: string): void {
    for (const lease of [...this.scheduler.state.leases.values()]) {
      if (this.runners.holder(lease.id) === undefined) this.scheduler.lose(lease.id, reason, false);
    }
    this.scheduler.schedule();
  }

  get orphans(): number {
    return [...this.scheduler.state.leases.keys()].filter((id) => this.runners.holder(id) === undefined).length;
  }
}
