// The runners connected now, and which connection holds which lease. A lease
// belongs to the connection it was handed to: only that connection may send
// output or a result for it, and only a runner of the same name may reclaim
// it after a reconnect or a dispatcher restart. None of this is journaled;
// after a restart every lease starts out held by nobody.

import type { Message } from '../protocol/messages.js';
import type { RunnerView } from './placement.js';

/** What the registry needs of a runner's connection. */
const NOBODY: ReadonlySet<string> = new Set();

export interface RunnerPeer {
  send(message: Message): boolean;
  close(cause: Error | null): void;
}

export interface RunnerConn {
  name: string;
  slots: number;
  labels: readonly string[];
  peer: RunnerPeer;
  /** Lease ids this connection holds. */
  leases: Set<string>;
  draining: boolean;
  /** Its connection may carry secrets (TLS, loopback, or --insecure). */
  secure: boolean;
}

export class RunnerRegistry {
  private readonly byName = new Map<string, RunnerConn>();
  private readonly byPeer = new Map<RunnerPeer, RunnerConn>();
  private readonly holders = new Map<string, RunnerConn>();
  /** Called when a runner comes, goes, drains or takes or gives back a lease (what the status page shows). */
  onChange: () => void = () => {};

  get size(): number {
    return this.byName.size;
  }

  /** Registers a connection; an older connection of the same name is returned, already removed. */
  add(name: string, slots: number, labels: readonly string[], peer: RunnerPeer, secure = false): { conn: RunnerConn; replaced: RunnerConn | undefined } {
    const replaced = this.byName.get(name);
    if (replaced) this.remove(replaced.peer);
    const conn: RunnerConn = { name, slots, labels, peer, leases: new Set(), draining: false, secure };
    this.byName.set(name, conn);
    this.byPeer.set(peer, conn);
    this.onChange();
    return { conn, replaced };
  }

  /** Forgets the connection; returns it (with the leases it held), or undefined if it was not registered. */
  remove(peer: RunnerPeer): RunnerConn | undefined {
    const conn = this.byPeer.get(peer);
    if (!conn) return undefined;
    this.byPeer.delete(peer);
    if (this.byName.get(conn.name) === conn) this.byName.delete(conn.name);
    for (const lease of conn.leases) this.holders.delete(lease);
    this.onChange();
    return conn;
  }

  of(peer: RunnerPeer): RunnerConn | undefined {
    return this.byPeer.get(peer);
  }

  named(name: string): RunnerConn | undefined {
    return this.byName.get(name);
  }

  /** The connection holding `lease`, if any does. */
  holder(lease: string): RunnerConn | undefined {
    return this.holders.get(lease);
  }

  bind(lease: string, conn: RunnerConn): void {
    this.holders.get(lease)?.leases.delete(lease);
    conn.leases.add(lease);
    this.holders.set(lease, conn);
    this.onChange();
  }

  unbind(lease: string): void {
    this.holders.get(lease)?.leases.delete(lease);
    this.holders.delete(lease);
    this.onChange();
  }

  drain(conn: RunnerConn): void {
    conn.draining = true;
    this.onChange();
  }

  all(): IterableIterator<RunnerConn> {
    return this.byName.values();
  }

  /**
   * The runners as placement sees them, with who is paused and who backs off
   * after failures. One object literal each: placement asks for them after
   * every result, and copying them into new objects cost a tenth of the
   * dispatcher's CPU at a thousand assignments a second.
   */
  views(paused: ReadonlySet<string> = NOBODY, unhealthy: (name: string) => boolean = () => false): RunnerView[] {
    return [...this.byName.values()].map((conn) => ({
      name: conn.name, slots: conn.slots, busy: conn.leases.size, labels: conn.labels, draining: conn.draining, secure: conn.secure,
      paused: paused.has(conn.name), unhealthy: unhealthy(conn.name),
    }));
  }
}
