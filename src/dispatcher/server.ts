// Accepts every peer on one port. Each connection must say `hello` first;
// after that, what it may send depends on its role. A peer that breaks the
// protocol gets one `error` line and is closed; nobody else notices.

import { createServer, type Server, type Socket } from 'node:net';
import { Connection } from '../common/connection.js';
import type { Log } from '../common/log.js';
import { PROTOCOL_VERSION, type Message, type Role } from '../protocol/messages.js';
import type { ResultStore } from './result-store.js';
import type { Scheduler } from './scheduler.js';

export interface ServerOptions {
  scheduler: Scheduler;
  results: ResultStore;
  log: Log;
  heartbeatMs: number;
  deadlineMs: number;
  helloTimeoutMs: number;
}

interface Peer {
  conn: Connection;
  role: Role | null;
  /** Set once a runner has registered. */
  runner: string | null;
}

export class DispatcherServer {
  readonly server: Server;
  private readonly peers = new Set<Peer>();
  private heartbeatTimer: NodeJS.Timeout | null = null;
  private heartbeatSeq = 0;
  /** Set by close(): connections we close ourselves are not runners lost. */
  private closing = false;

  constructor(private readonly options: ServerOptions) {
    this.server = createServer((socket) => this.accept(socket));
  }

  listen(host: string, port: number): Promise<{ host: string; port: number }> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        const address = this.server.address();
        resolve(typeof address === 'object' && address ? { host: address.address, port: address.port } : { host, port });
      });
    });
  }

  /** Stops accepting and closes every connection. */
  async close(): Promise<void> {
    this.closing = true;
    this.stopHeartbeats();
    const closing = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const peer of this.peers) peer.conn.close();
    await Promise.all([...this.peers].map((peer) => peer.conn.closed));
    await closing;
  }

  private accept(socket: Socket): void {
    const peer: Peer = { conn: null as unknown as Connection, role: null, runner: null };
    peer.conn = new Connection(socket, {
      onMessage: (message) => this.receive(peer, message),
      onProtocolError: (error) => this.options.log(`bad line from ${peer.conn.remote}: ${error.code}: ${error.message}`),
    });
    this.peers.add(peer);
    const helloTimer = setTimeout(() => {
      if (peer.role === null) {
        this.options.log(`no hello from ${peer.conn.remote} within ${this.options.helloTimeoutMs} ms`);
        peer.conn.fail('hello-timeout', `no hello within ${this.options.helloTimeoutMs} ms`);
      }
    }, this.options.helloTimeoutMs);
    void peer.conn.closed.then((cause) => {
      clearTimeout(helloTimer);
      this.peers.delete(peer);
      if (peer.runner !== null && !this.closing) {
        this.options.scheduler.removeRunner(peer.runner, peer.conn, cause ? `connection closed (${cause.message})` : 'connection closed');
        if (this.options.scheduler.runnerCount === 0) this.stopHeartbeats();
      }
    });
  }

  private refuse(peer: Peer, code: string, message: string): void {
    this.options.log(`refused ${peer.role ?? 'peer'} ${peer.conn.remote}: ${message}`);
    peer.conn.fail(code, message);
  }

  private receive(peer: Peer, message: Message): void {
    if (peer.role === null) {
      if (message.type !== 'hello') return this.refuse(peer, 'unexpected', `expected hello first, got ${message.type}`);
      if (message.version !== PROTOCOL_VERSION) {
        return this.refuse(peer, 'version-mismatch', `protocol version ${message.version} is not supported; this dispatcher speaks ${PROTOCOL_VERSION}`);
      }
      peer.role = message.role;
      peer.conn.send({ type: 'welcome', version: PROTOCOL_VERSION, heartbeatMs: this.options.heartbeatMs, deadlineMs: this.options.deadlineMs });
      return;
    }
    if (peer.runner !== null) this.options.scheduler.touch(peer.runner, peer.conn);
    switch (peer.role) {
      case 'runner': return this.fromRunner(peer, message);
      case 'observer': return this.fromObserver(peer, message);
      case 'client': return this.fromClient(peer, message);
      case 'admin': return this.fromClient(peer, message);
    }
  }

  private fromRunner(peer: Peer, message: Message): void {
    const { scheduler } = this.options;
    if (message.type === 'register') {
      if (peer.runner !== null) return this.refuse(peer, 'unexpected', 'already registered');
      peer.runner = message.name;
      peer.conn.send({ type: 'registered', name: message.name });
      scheduler.addRunner(message.name, message.slots, message.labels, message.leases, peer.conn);
      this.startHeartbeats();
      return;
    }
    if (peer.runner === null) return this.refuse(peer, 'unexpected', `expected register, got ${message.type}`);
    switch (message.type) {
      case 'pong': return;
      case 'drain': return scheduler.drain(peer.runner, peer.conn);
      case 'output': return scheduler.output(message.lease, message.data);
      case 'result':
        // `recorded` only once the result is durable: the runner then forgets it.
        void scheduler.result(message.lease, message.outcome).then(
          (accepted) => peer.conn.send({ type: 'recorded', lease: message.lease, accepted }),
          (error: Error) => this.journalFailed(peer, error),
        );
        return;
      default: return this.refuse(peer, 'not-allowed', `a runner may not send ${message.type}`);
    }
  }

  private fromObserver(peer: Peer, message: Message): void {
    if (message.type !== 'commit') return this.refuse(peer, 'not-allowed', `an observer may not send ${message.type}`);
    // `queued` only once the commit is durable: the observer then forgets it.
    void this.options.scheduler.addCommit(message.commit, message.repo, message.ref).then(
      (added) => peer.conn.send({ type: 'queued', commit: message.commit, duplicate: !added }),
      (error: Error) => this.journalFailed(peer, error),
    );
  }

  /** The journal could not be written: the peer keeps its data and retries. */
  private journalFailed(peer: Peer, error: Error): void {
    this.options.log(`journal write failed: ${error.message}`);
    peer.conn.fail('journal-failed', `the dispatcher could not record this: ${error.message}`);
  }

  private fromClient(peer: Peer, message: Message): void {
    if (message.type === 'notify') return this.notifyObservers(peer);
    if (message.type !== 'query') return this.refuse(peer, 'not-allowed', `a client may not send ${message.type}`);
    const { scheduler, results } = this.options;
    const overview = scheduler.overview();
    if (message.commit === null) {
      peer.conn.send({ type: 'status', ...overview });
      return;
    }
    const commit = message.commit;
    const known = scheduler.find(commit);
    const reply = (builds: typeof overview.builds) => peer.conn.send({ ...overview, type: 'status', builds });
    if (known) return void reply([known]);
    void results.readResult(commit).then((record) => reply(record ? [record] : []));
  }

  /** `keel notify` (e.g. from a post-receive hook): every observer scans now. */
  private notifyObservers(peer: Peer): void {
    let observers = 0;
    for (const other of this.peers) {
      if (other.role === 'observer' && other.conn.send({ type: 'scan' })) observers += 1;
    }
    this.options.log(`notify from ${peer.conn.remote}: asked ${observers} observer(s) to scan`);
    peer.conn.send({ type: 'notified', observers });
  }

  private startHeartbeats(): void {
    if (this.heartbeatTimer) return;
    const { scheduler, deadlineMs, heartbeatMs, log } = this.options;
    this.heartbeatTimer = setInterval(() => {
      for (const silent of scheduler.heartbeat(++this.heartbeatSeq, deadlineMs)) {
        log(`runner ${silent.name} silent for ${silent.silentMs} ms (deadline ${deadlineMs} ms)`);
        scheduler.removeRunner(silent.name, silent.peer, `silent for ${silent.silentMs} ms`);
        silent.peer.close(new Error('heartbeat deadline passed'));
      }
      if (scheduler.runnerCount === 0) this.stopHeartbeats();
    }, heartbeatMs);
  }

  private stopHeartbeats(): void {
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = null;
  }
}
