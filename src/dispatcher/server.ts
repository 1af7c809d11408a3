// Accepts every peer on one port (TCP, or TLS when given a certificate).
// Each connection must be admitted first (hello, and the secret's challenge
// when there is one); after that, what it may send depends on its role, and
// the role's handler (runner-peer, observer-peer, client-peer) acts on it.
// A peer that breaks the protocol gets an `error` line; nobody else notices.
//
// What peers may cost is bounded: connections not yet admitted (overall and
// per source address: when full, the oldest is closed, so a burst of silent
// sockets cannot keep a real peer out), the bytes of unfinished lines of all
// peers together (past the budget the peer holding the most is closed), and
// a client's idleness.
//
// A peer speaking the wrong transport (plain TCP to a TLS port, TLS to a
// plain one) is told so and closed; see transport.ts.

import { createServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer, type Server as TlsServer, type TLSSocket } from 'node:tls';
import { Connection } from '../common/connection.js';
import type { Heartbeats } from '../common/heartbeat.js';
import type { Log } from '../common/log.js';
import type { Security } from '../common/security.js';
import { ErrorCode } from '../protocol/error-codes.js';
import { PROTOCOL_VERSION, type Message, type MessageType, type Role } from '../protocol/messages.js';
import type { AdminList } from './admins.js';
import { fromClient, type ClientPeerParts } from './client-peer.js';
import { Handshake } from './handshake.js';
import { firstByte, handshakeProblem, PLAIN_AT_TLS, TLS_AT_PLAIN, TLS_HANDSHAKE, TLS_REQUIRED } from './transport.js';
import { OncePer } from '../common/once-per.js';
import { encode } from '../protocol/codec.js';
import { fromObserver, type ObserverPeerParts } from './observer-peer.js';
import type { Peer, PeerContext } from './peer.js';
import { fromRunner, type RunnerPeerParts } from './runner-peer.js';

export interface ServerLimits {
  heartbeatMs: number;
  deadlineMs: number;
  helloTimeoutMs: number;
  maxPending: number;
  maxPendingPerSource: number;
  maxLineBytes: number;
  maxBufferedBytes: number;
  maxErrors: number;
  clientIdleMs: number;
}

export interface ServerParts {
  admins: AdminList;
  security: Security;
  log: Log;
  limits: ServerLimits;
  heartbeats: Heartbeats<Connection>;
  runner: Omit<RunnerPeerParts, 'context'>;
  observer: Omit<ObserverPeerParts, 'context'>;
  client: Omit<ClientPeerParts, 'context'>;
  /** A peer's connection closed (not by the dispatcher shutting down). */
  left(peer: Peer, reason: string): void;
}

/** What each role may send once admitted; a read-only client can only ask. */
const ALLOWED: Record<Role, readonly MessageType[]> = {
  runner: ['register', 'pong', 'drain', 'output', 'artifact', 'result'],
  observer: ['observe', 'pong', 'commit', 'command-result', 'heard', 'patch-read'],
  client: ['query', 'find-commit', 'history', 'logs', 'notify', 'queue', 'land-wait', 'patches', 'patch-show'],
  admin: [
    'query', 'find-commit', 'history', 'logs', 'notify', 'queue', 'land-wait', 'patches', 'patch-show',
    'admins', 'cancel', 'cancel-many', 'retry', 'build', 'pause', 'land', 'land-cancel', 'patch', 'patch-data', 'patch-op',
  ],
  // It submits, retests and closes its own patches, nothing else.
  submitter: ['patch', 'patch-data', 'patch-op'],
};

export class DispatcherServer {
  readonly server: Server;
  private readonly peers = new Set<Peer>();
  /** Connections not admitted yet, oldest first. */
  private readonly pending = new Set<Peer>();
  private buffered = 0;
  /** Set by close(): connections we close ourselves are not peers lost. */
  private closing = false;
  private readonly context: PeerContext = {
    refuse: (peer, code, message) => this.refuse(peer, code, message),
    refuseQuietly: (peer, code, message) => this.refuse(peer, code, message, peer.warned.has(code)),
  };
  private readonly runnerParts: RunnerPeerParts;
  private readonly observerParts: ObserverPeerParts;
  private readonly clientParts: ClientPeerParts;
  /** With TLS: does the handshakes (never listens itself); its secure connections are accepted. */
  private readonly tls: TlsServer | null;
  /** Sockets still being told apart (TLS or plain), and with TLS every raw socket: what close() must not wait for. */
  private readonly unsorted = new Set<Socket>();
  /** Transport mistakes are logged once a minute per peer address, not once per retry. */
  private readonly mistakes = new OncePer(60_000);

  constructor(private readonly parts: ServerParts) {
    this.runnerParts = { ...parts.runner, context: this.context };
    this.observerParts = { ...parts.observer, context: this.context };
    this.clientParts = { ...parts.client, context: this.context };
    const tls = parts.security.tls;
    this.tls = tls
      ? createTlsServer({
        cert: tls.cert!, key: tls.key!, handshakeTimeout: parts.limits.helloTimeoutMs,
        // With a CA, peers must show a client certificate it signed.
        ...(tls.ca ? { ca: tls.ca, requestCert: true, rejectUnauthorized: true } : {}),
      }, (socket) => this.accept(socket))
      : null;
    // A peer's address is gone once it hangs up; such failures share one line a minute.
    this.tls?.on('tlsClientError', (error: Error, socket: TLSSocket) => {
      // A client certificate --tls-ca did not sign is refused after the handshake, and shows only here.
      const refused = socket.authorizationError ? Object.assign(new Error(String(socket.authorizationError)), { code: 'ERR_SSL_CERTIFICATE_VERIFY_FAILED' }) : error;
      this.mistake(socket.remoteAddress ?? '?', handshakeProblem(refused));
    });
    this.server = createServer((socket) => (this.tls ? void this.sortOut(socket) : this.accept(socket)));
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
    this.parts.heartbeats.stop();
    const closing = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const peer of this.peers) peer.conn.close();
    await Promise.all([...this.peers].map((peer) => peer.conn.closed));
    // What is left never became a peer: not yet told apart, or in its TLS handshake.
    for (const socket of this.unsorted) socket.destroy();
    await closing;
  }

  /**
   * With TLS: reads the first byte, and hands a TLS handshake to the TLS
   * server; a plain peer is told, in plain JSON, to use TLS, and closed.
   */
  private async sortOut(socket: Socket): Promise<void> {
    const source = socket.remoteAddress ?? '?';
    this.unsorted.add(socket);
    socket.once('close', () => this.unsorted.delete(socket));
    const byte = await firstByte(socket, this.parts.limits.helloTimeoutMs);
    if (byte === null || this.closing) return void socket.destroy();
    if (byte === TLS_HANDSHAKE) return void this.tls!.emit('connection', socket);
    this.mistake(source, PLAIN_AT_TLS);
    socket.end(encode({ type: 'error', code: ErrorCode.tlsRequired, message: TLS_REQUIRED }));
  }

  /**
   * Without TLS: a first chunk that is a TLS handshake gets a JSON line back
   * at once, which makes the peer's TLS fail with a reason (it would wait
   * for a handshake until the hello timeout), and the connection closes.
   */
  private refuseTls(peer: Peer, socket: Socket): void {
    socket.prependOnceListener('data', (chunk: Buffer) => {
      if (chunk[0] !== TLS_HANDSHAKE) return;
      this.mistake(peer.source, TLS_AT_PLAIN);
      peer.conn.fail(ErrorCode.unexpected, 'this dispatcher speaks plain TCP, not TLS');
    });
  }

  private mistake(source: string, what: string): void {
    if (this.mistakes.allow(`${source} ${what}`, Date.now())) this.parts.log(`${what} (from ${source === '?' ? 'an address no longer known' : source}; said once a minute per address)`);
  }

  private accept(socket: Socket): void {
    const { limits, log } = this.parts;
    const source = socket.remoteAddress ?? '?';
    const fromSource = [...this.pending].filter((peer) => peer.source === source);
    const evict = fromSource.length >= limits.maxPendingPerSource ? fromSource[0] : this.pending.size >= limits.maxPending ? this.pending.values().next().value : undefined;
    if (evict) {
      log(`closed a connection from ${evict.conn.remote} that had not said hello: ${fromSource.length >= limits.maxPendingPerSource ? `${fromSource.length} were waiting from ${source} (--max-pending-per-source)` : `${this.pending.size} were waiting (--max-pending)`}`);
      this.pending.delete(evict);
      evict.conn.fail(ErrorCode.busy, 'too many connections waiting to say hello; this, the oldest, is closed');
    }
    const peer: Peer = {
      conn: null as unknown as Connection, handshake: new Handshake(this.parts.security.secret, this.parts.admins), source,
      role: null, name: '', registered: false, errors: 0, warned: new Set(), busy: 0, buffered: 0, idleTimer: null,
    };
    peer.conn = new Connection(socket, {
      onMessage: (message) => this.receive(peer, message),
      onProtocolError: (error) => {
        log(`bad line from ${peer.conn.remote}: ${error.code}: ${error.message}`);
        return this.forgive(peer);
      },
      onData: () => this.countBuffered(peer),
    }, limits.maxLineBytes);
    if (this.tls === null) this.refuseTls(peer, socket);
    this.peers.add(peer);
    this.pending.add(peer);
    const helloTimer = setTimeout(() => {
      if (peer.role !== null) return;
      log(`no hello from ${peer.conn.remote} within ${limits.helloTimeoutMs} ms`);
      peer.conn.fail(ErrorCode.helloTimeout, `no hello within ${limits.helloTimeoutMs} ms`);
    }, limits.helloTimeoutMs);
    void peer.conn.closed.then((cause) => {
      clearTimeout(helloTimer);
      if (peer.idleTimer) clearTimeout(peer.idleTimer);
      this.peers.delete(peer);
      this.pending.delete(peer);
      this.buffered -= peer.buffered;
      this.parts.heartbeats.untrack(peer.conn);
      if (!this.closing) this.parts.left(peer, cause ? `connection closed (${cause.message})` : 'connection closed');
    });
  }

  /** Keeps the total of unfinished lines within budget by closing whoever holds the most. */
  private countBuffered(peer: Peer): void {
    const now = peer.conn.buffered;
    this.buffered += now - peer.buffered;
    peer.buffered = now;
    if (this.buffered <= this.parts.limits.maxBufferedBytes) return;
    let largest = peer;
    for (const other of this.peers) if (other.buffered > largest.buffered) largest = other;
    this.parts.log(`${largest.conn.remote} holds ${largest.buffered} bytes of an unfinished line while all peers together hold ${this.buffered} (--max-buffered-mib): closing it`);
    this.buffered -= largest.buffered;
    largest.buffered = 0;
    largest.conn.fail(ErrorCode.busy, 'too much unfinished input held for all peers together; this connection held the most');
  }

  /**
   * An admitted peer that sends a bad message gets an `error` and may go on,
   * up to --max-errors; one that has not been admitted is closed at once.
   */
  private forgive(peer: Peer): boolean {
    peer.errors += 1;
    return peer.role !== null && peer.errors <= this.parts.limits.maxErrors;
  }

  private refuse(peer: Peer, code: ErrorCode, message: string, quietly = false): void {
    if (!quietly) this.parts.log(`refused ${peer.role ?? 'peer'} ${peer.conn.remote}: ${message}`);
    peer.warned.add(code);
    if (this.forgive(peer)) peer.conn.send({ type: 'error', code, message });
    else peer.conn.fail(code, message);
  }

  private receive(peer: Peer, message: Message): void {
    if (peer.role === null) return this.admit(peer, message);
    if (!ALLOWED[peer.role].includes(message.type)) {
      return this.refuse(peer, ErrorCode.notAllowed, `a${peer.role === 'observer' || peer.role === 'admin' ? 'n' : ''} ${peer.role} may not send ${message.type}`);
    }
    this.parts.heartbeats.seen(peer.conn);
    switch (peer.role) {
      case 'runner': return fromRunner(this.runnerParts, peer, message);
      case 'observer': return fromObserver(this.observerParts, peer, message);
      case 'client': case 'admin': case 'submitter':
        this.armIdle(peer);
        return fromClient(this.clientParts, peer, message);
    }
  }

  private admit(peer: Peer, message: Message): void {
    const step = peer.handshake.step(message);
    if (step.kind === 'refuse') return this.refuse(peer, step.code, step.message);
    if (step.kind === 'reply') return void peer.conn.send(step.message);
    peer.role = step.peer.role;
    peer.name = step.peer.name;
    this.pending.delete(peer);
    const { heartbeatMs, deadlineMs } = this.parts.limits;
    peer.conn.send({ type: 'welcome', version: PROTOCOL_VERSION, heartbeatMs, deadlineMs });
    if (peer.role === 'client' || peer.role === 'admin' || peer.role === 'submitter') this.armIdle(peer);
  }

  /** A client that asks nothing for --client-idle (and waits for no answer) is closed. */
  private armIdle(peer: Peer): void {
    if (peer.idleTimer) return void peer.idleTimer.refresh();
    const { clientIdleMs } = this.parts.limits;
    peer.idleTimer = setTimeout(() => {
      if (peer.busy > 0) return void peer.idleTimer?.refresh();
      peer.conn.fail(ErrorCode.idle, `no request for ${clientIdleMs / 1000} s (--client-idle)`);
    }, clientIdleMs);
    peer.idleTimer.unref();
  }
}
