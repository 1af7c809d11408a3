// Accepts every peer on one port (TCP, or TLS when given a certificate).
// Each connection must be admitted first (hello, and the secret's challenge
// when there is one); after that, what it may send depends on its role. A
// peer that breaks the protocol gets one `error` line and is closed; nobody
// else notices.

import { createServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { formatToken } from '../common/auth.js';
import { Connection } from '../common/connection.js';
import type { Log } from '../common/log.js';
import type { Security } from '../common/security.js';
import { PROTOCOL_VERSION, type Message, type MessageType, type Role } from '../protocol/messages.js';
import type { ErrorCode } from '../protocol/error-codes.js';
import type { AdminList } from './admins.js';
import { Handshake } from './handshake.js';
import type { ResultStore } from './result-store.js';
import type { Scheduler } from './scheduler.js';

export interface ServerOptions {
  scheduler: Scheduler;
  results: ResultStore;
  admins: AdminList;
  security: Security;
  log: Log;
  heartbeatMs: number;
  deadlineMs: number;
  helloTimeoutMs: number;
  maxPending: number;
  maxLineBytes: number;
  maxErrors: number;
}

interface Peer {
  conn: Connection;
  handshake: Handshake;
  role: Role | null;
  name: string;
  /** Set once a runner has registered. */
  runner: string | null;
  /** Bad messages so far. */
  errors: number;
}

/** What each role may send once admitted; a read-only client can only ask. */
const ALLOWED: Record<Role, readonly MessageType[]> = {
  runner: ['register', 'pong', 'drain', 'output', 'result'],
  observer: ['commit'],
  client: ['query', 'notify'],
  admin: ['query', 'notify', 'admins', 'cancel', 'retry'],
};

export class DispatcherServer {
  readonly server: Server;
  private readonly peers = new Set<Peer>();
  /** Sockets turned away by --max-pending, until they are gone. */
  private readonly refused = new Set<Socket>();
  private heartbeatTimer: NodeJS.Timeout | null = null;
  private heartbeatSeq = 0;
  /** Set by close(): connections we close ourselves are not runners lost. */
  private closing = false;

  constructor(private readonly options: ServerOptions) {
    const tls = options.security.tls;
    this.server = tls
      ? createTlsServer({
        cert: tls.cert!, key: tls.key!,
        // With a CA, peers must show a client certificate it signed.
        ...(tls.ca ? { ca: tls.ca, requestCert: true, rejectUnauthorized: true } : {}),
      }, (socket) => this.accept(socket))
      : createServer((socket) => this.accept(socket));
    this.server.on('tlsClientError', (error: Error, socket: Socket) => {
      options.log(`TLS handshake with ${socket.remoteAddress ?? '?'} failed: ${error.message}`);
    });
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
    // A refused socket's destroy timer is unref'd; server.close waits for it all the same.
    for (const socket of this.refused) socket.destroy();
    await Promise.all([...this.peers].map((peer) => peer.conn.closed));
    await closing;
  }

  private accept(socket: Socket): void {
    const { options } = this;
    const waiting = [...this.peers].filter((p) => p.role === null).length;
    if (waiting >= options.maxPending) {
      options.log(`refused ${socket.remoteAddress ?? '?'}: ${waiting} connections have not said hello yet (--max-pending)`);
      socket.end(`${JSON.stringify({ type: 'error', code: 'busy', message: 'too many connections waiting to say hello' })}\n`);
      socket.on('error', () => {});
      this.refused.add(socket);
      socket.once('close', () => this.refused.delete(socket));
      setTimeout(() => socket.destroy(), 1000).unref();
      return;
    }
    const peer: Peer = { conn: null as unknown as Connection, handshake: new Handshake(options.security.secret, options.admins), role: null, name: '', runner: null, errors: 0 };
    peer.conn = new Connection(socket, {
      onMessage: (message) => this.receive(peer, message),
      onProtocolError: (error) => {
        options.log(`bad line from ${peer.conn.remote}: ${error.code}: ${error.message}`);
        return this.forgive(peer);
      },
    }, options.maxLineBytes);
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

  /**
   * An admitted peer that sends a bad message gets an `error` and may go on,
   * up to --max-errors; one that has not been admitted is closed at once.
   */
  private forgive(peer: Peer): boolean {
    peer.errors += 1;
    return peer.role !== null && peer.errors <= this.options.maxErrors;
  }

  private refuse(peer: Peer, code: ErrorCode, message: string): void {
    this.options.log(`refused ${peer.role ?? 'peer'} ${peer.conn.remote}: ${message}`);
    if (this.forgive(peer)) peer.conn.send({ type: 'error', code, message });
    else peer.conn.fail(code, message);
  }

  private receive(peer: Peer, message: Message): void {
    if (peer.role === null) {
      const step = peer.handshake.step(message);
      if (step.kind === 'refuse') return this.refuse(peer, step.code, step.message);
      if (step.kind === 'reply') return void peer.conn.send(step.message);
      peer.role = step.peer.role;
      peer.name = step.peer.name;
      peer.conn.send({ type: 'welcome', version: PROTOCOL_VERSION, heartbeatMs: this.options.heartbeatMs, deadlineMs: this.options.deadlineMs });
      return;
    }
    if (!ALLOWED[peer.role].includes(message.type)) {
      return this.refuse(peer, 'not-allowed', `a${peer.role === 'observer' || peer.role === 'admin' ? 'n' : ''} ${peer.role} may not send ${message.type}`);
    }
    if (peer.runner !== null) this.options.scheduler.touch(peer.runner, peer.conn);
    switch (peer.role) {
      case 'runner': return this.fromRunner(peer, message);
      case 'observer': return this.fromObserver(peer, message);
      case 'client': case 'admin': return this.fromClient(peer, message);
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
    }
  }

  private fromObserver(peer: Peer, message: Message): void {
    if (message.type !== 'commit') return;
    // `queued` only once the commit is durable: the observer then forgets it.
    const { commit, repo, ref, project, supersede } = message;
    void this.options.scheduler.addCommit({ commit, repo, ref, project, supersede }).then(
      (added) => peer.conn.send({ type: 'queued', commit: message.commit, duplicate: !added }),
      (error: Error) => this.journalFailed(peer, error),
    );
  }

  /** The journal could not be written: the peer keeps its data and retries. */
  private journalFailed(peer: Peer, error: Error): void {
    this.options.log(`journal write failed: ${error.message}`);
    peer.conn.fail('journal-stalled', `the dispatcher could not record this: ${error.message}`);
  }

  private fromClient(peer: Peer, message: Message): void {
    if (message.type === 'notify') return this.notifyObservers(peer);
    if (message.type === 'admins') return void this.manageAdmins(peer, message.op, message.name);
    const { scheduler, results } = this.options;
    const by = `${peer.role} ${peer.name}`;
    const done = (text: Promise<string>) => void text.then(
      (reply) => peer.conn.send({ type: 'done', message: reply }),
      (error: Error) => this.journalFailed(peer, error),
    );
    if (message.type === 'cancel') return done(scheduler.cancel(message.project, message.commit, by));
    if (message.type === 'retry') return done(scheduler.retry(message.project, message.commit, message.job, by));
    if (message.type !== 'query') return;
    const overview = scheduler.overview();
    if (message.commit === null) {
      peer.conn.send({ type: 'status', ...overview });
      return;
    }
    const { commit, project } = message;
    const known = scheduler.find(project, commit);
    const reply = (builds: typeof overview.builds) => peer.conn.send({ ...overview, type: 'status', builds });
    if (known) return void reply([known]);
    void results.readResult(project, commit).then((record) => reply(record ? [record] : []));
  }

  /** `keel admin`: list, add or remove the names allowed to act as admin. */
  private async manageAdmins(peer: Peer, op: 'list' | 'add' | 'remove', name: string | null): Promise<void> {
    const { admins, security, log } = this.options;
    if (op !== 'list' && name === null) return this.refuse(peer, 'bad-field', `admins ${op} needs a name`);
    try {
      if (op === 'add') await admins.add(name!);
      if (op === 'remove') await admins.remove(name!);
    } catch (error) {
      return this.refuse(peer, 'admins-failed', `could not save the admin list: ${(error as Error).message}`);
    }
    if (op !== 'list') log(`admin ${peer.name} ${op === 'add' ? 'added' : 'removed'} admin ${name}`);
    const token = op === 'add' && security.secret ? formatToken(security.secret.key, 'admin', name) : null;
    peer.conn.send({ type: 'admin-list', names: admins.list(), token });
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
