// Hands the outbox's items (outbox.ts) to the parts that deliver them — the
// forge poster, the result hook, the observer sessions — once the record
// that made each one is durable, and journals the items they are done with.
// The reducer makes the items; this only moves them. An item handed out and
// not yet journaled as delivered is handed out again after a restart, so
// each output happens at least once.

import type { Log } from '../common/log.js';
import type { EventItem, HookItem, StatusItem } from './outbox.js';
import type { JournalRecord } from './records.js';
import type { State } from './state.js';

export interface OutboxWorkers {
  /** A commit status for the forge; null without --forge-status. */
  status: ((item: StatusItem) => void) | null;
  /** A finished build for the --on-result hook; null without it. */
  hook: ((item: HookItem) => void) | null;
  /** A `finished` event for its project's observer, if one is connected. */
  event(item: EventItem): void;
}

export interface PumpParts {
  state: State;
  /** Applies and journals a record (the scheduler's). */
  record(record: JournalRecord): Promise<void>;
  log: Log;
}

export class OutboxPump {
  /** Every item with a smaller id is durable. */
  private durableBefore: number;
  private done: number[] = [];
  private flushTimer: NodeJS.Immediate | null = null;
  private reportedDrops = 0;
  private workers: OutboxWorkers | null = null;

  constructor(private readonly parts: PumpParts) {
    // What the journal held at start is durable.
    this.durableBefore = parts.state.outbox.next;
  }

  /** Starts handing items out, first all that were replayed, oldest first. */
  start(workers: OutboxWorkers): void {
    this.workers = workers;
    const { outbox } = this.parts.state;
    const items = [...outbox.statuses.keys(), ...outbox.events.keys(), ...outbox.hooks.keys()].sort((a, b) => a - b);
    for (const id of items) this.hand(id);
  }

  /** The record that made items `from` to `to - 1` is durable: hand them out. */
  added(from: number, to: number): void {
    this.durableBefore = Math.max(this.durableBefore, to);
    for (let id = from; id < to; id += 1) this.hand(id);
    const { dropped } = this.parts.state.outbox;
    if (dropped > this.reportedDrops) {
      this.parts.log(`outbox full: ${dropped - this.reportedDrops} of the oldest statuses, events or hook runs were dropped undelivered`);
      this.reportedDrops = dropped;
    }
  }

  /** True once the record that made item `id` is durable. */
  isDurable(id: number): boolean {
    return id < this.durableBefore;
  }

  /** Item `id` is done (or given up on); the items done in one turn share one record. */
  delivered(id: number): void {
    this.done.push(id);
    this.flushTimer ??= setImmediate(() => this.flush());
  }

  /** Journals what is done now (the dispatcher is stopping). */
  close(): void {
    if (this.flushTimer) clearImmediate(this.flushTimer);
    this.flush();
    this.workers = null;
  }

  private flush(): void {
    this.flushTimer = null;
    if (this.done.length === 0) return;
    const ids = this.done;
    this.done = [];
    // Not delivered again before a restart either way; a record lost to a crash only repeats them.
    void this.parts.record({ op: 'delivered', ids }).catch(() => {});
  }

  private hand(id: number): void {
    const workers = this.workers;
    if (!workers) return;
    const { outbox } = this.parts.state;
    const status = outbox.statuses.get(id);
    if (status) return void (workers.status ? workers.status(status) : this.delivered(id));
    const event = outbox.events.get(id);
    if (event) return workers.event(event);
    const hook = outbox.hooks.get(id);
    if (hook) return void (workers.hook ? workers.hook(hook) : this.delivered(id));
  }
}
