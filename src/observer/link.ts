// The observer's connection to the dispatcher: dial, `hello`, wait for
// `welcome`, register with `observe` (its project and repository), and once
// `observing` send every pending commit in order and hand each `queued`
// back to the owner. It answers pings and drops a dispatcher silent past the
// deadline. When the dispatcher is away (or another observer holds the
// project) it says so once per outage and retries with backoff for as long
// as it takes; the observer never exits for want of a dispatcher, because
// the commits wait safely in the cursor. A `scan` (someone ran `keel
// notify`) makes the owner look for new commits at once; a `command` is git
// work the owner does and answers; `finished` says a build ended, and is
// answered `heard` once the owner has kept what it needs of it.

import { formatAddress, type Address } from '../common/address.js';
import { backoffDelay } from '../common/backoff.js';
import { Connection } from '../common/connection.js';
import { dial, explainClose } from '../common/dial.js';
import { Watchdog } from '../common/heartbeat.js';
import type { Log } from '../common/log.js';
import { AuthRefusals } from '../common/auth-refusals.js';
import { answerChallenge, hello } from '../common/hello.js';
import type { Security } from '../common/security.js';
import { ErrorCode } from '../protocol/error-codes.js';
import { PROTOCOL_VERSION, type CommandResult, type Finished, type Message, type ObserverCommand, type Queued } from '../protocol/messages.js';
import type { PendingCommit } from './cursor.js';

export interface LinkSource {
  /** The commits not yet acknowledged, oldest first. */
  pending(): readonly PendingCommit[];
  acknowledged(queued: Queued): void;
  /** The dispatcher asks for a scan now (a push hook ran `keel notify`). */
  scanNow(): void;
  /** Does the git work of a command, reading a patch's bytes with `read`; never throws (a failure is a result with `ok: false`). */
  command(command: ObserverCommand, read: PatchReader): Promise<Omit<CommandResult, 'type' | 'id'>>;
  /** A build of this project finished; resolves once it is kept (the dispatcher may then forget it), rejects when it could not be. */
  finished(event: Omit<Finished, 'type'>): Promise<void>;
}

/** Reads a chunk of a patch's bytes from the dispatcher, on the connection the command came on. */
export type PatchReader = (patch: string, version: number, offset: number) => Promise<{ data: Buffer; end: boolean }>;

export interface LinkOptions {
  dispatcher: Address;
  security: Security;
  /** How the dispatcher knows this observer, in `hello`. */
  name: string;
  /** What runners fetch from, in every `commit`. */
  repoUrl: string;
  /** Keeps this repository's results apart (--project); null for the default folder. */
  project: string | null;
  /** Newer commits skip queued builds of older ones on the same branch (--supersede). */
  supersede: boolean;
  log: Log;
  source: LinkSource;
  welcomeTimeoutMs?: number;
  /** The dispatcher refused this observer's secret (or lack of one) a few times in a row: give up. */
  onRefused?(reason: string): void;
}

const WELCOME_TIMEOUT_MS = 10_000;

export class DispatcherLink {
  private conn: Connection | null = null;
  private welcomed = false;
  /** Sent on the current connection and not yet acknowledged. */
  private readonly inFlight = new Set<string>();
  private failures = 0;
  private stopped = false;
  private retryTimer: NodeJS.Timeout | null = null;
  private welcomeTimer: NodeJS.Timeout | null = null;
  private refusal: string | null = null;
  /** Why the dispatcher will not admit this observer, learnt on the current connection. */
  private authRefusal: string | null = null;
  private readonly refusals = new AuthRefusals();
  /** The dispatcher has sent something on the current connection. */
  private heard = false;
  private watchdog: Watchdog | null = null;
  private readonly where: string;
  /** Patch reads waiting for their `patch-bytes`, by patch, version and offset. */
  private readonly reads = new Map<string, { resolve(chunk: { data: Buffer; end: boolean }): void; reject(error: Error): void }>();

  constructor(private readonly options: LinkOptions) {
    this.where = formatAddress(options.dispatcher);
  }

  start(): void {
    void this.connect();
  }

  get isConnected(): boolean {
    return this.welcomed && this.conn !== null && this.conn.isOpen;
  }

  /** Sends every pending commit not yet sent on this connection; a no-op while disconnected. */
  flush(): void {
    if (!this.isConnected) return;
    for (const { commit, ref } of this.options.source.pending()) {
      if (this.inFlight.has(commit)) continue;
      this.inFlight.add(commit);
      this.conn!.send({ type: 'commit', commit, ref });
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.welcomeTimer) clearTimeout(this.welcomeTimer);
    const conn = this.conn;
    if (!conn) return;
    conn.close();
    await conn.closed;
  }

  private async connect(): Promise<void> {
    this.retryTimer = null;
    let socket;
    try {
      socket = await dial(this.options.dispatcher, this.options.security.tls);
    } catch (error) {
      this.retry((error as Error).message);
      return;
    }
    if (this.stopped) return void socket.destroy();
    const conn: Connection = new Connection(socket, {
      onMessage: (message) => this.receive(conn, message),
      onProtocolError: (error) => (this.refusal = `sent a bad line (${error.message})`),
    });
    this.conn = conn;
    this.welcomed = false;
    this.refusal = null;
    this.authRefusal = null;
    this.heard = false;
    this.inFlight.clear();
    conn.send(hello('observer', this.options.name));
    this.welcomeTimer = setTimeout(() => {
      this.refusal = `no welcome within ${this.options.welcomeTimeoutMs ?? WELCOME_TIMEOUT_MS} ms`;
      conn.destroy();
    }, this.options.welcomeTimeoutMs ?? WELCOME_TIMEOUT_MS);
    void conn.closed.then((cause) => this.lost(conn, cause));
  }

  private lost(conn: Connection, cause: Error | null): void {
    if (this.conn !== conn) return;
    if (this.welcomeTimer) clearTimeout(this.welcomeTimer);
    this.watchdog?.stop();
    this.watchdog = null;
    const wasWelcomed = this.welcomed;
    this.conn = null;
    this.welcomed = false;
    this.inFlight.clear();
    for (const read of this.reads.values()) read.reject(new Error('the connection to the dispatcher closed'));
    this.reads.clear();
    if (this.stopped) return;
    if (this.authRefusal !== null) {
      // Said once; after a few refusals in a row the observer gives up rather than retry forever.
      const reason = `dispatcher at ${this.where} refused this observer: ${this.authRefusal}`;
      const step = this.refusals.refused(reason);
      if (step.say !== null) this.options.log(step.say);
      if (step.giveUp && this.options.onRefused) return this.options.onRefused(reason);
      return this.retry(null);
    }
    const explained = explainClose(cause, this.options.dispatcher, this.options.security.tls, this.heard)?.message ?? null;
    const detail = this.refusal ?? explained ?? (wasWelcomed ? 'connection closed' : 'closed the connection before welcome');
    this.retry(wasWelcomed ? `lost the connection (${detail})` : detail);
  }

  /** Reconnects after a backoff; `reason` is logged once per outage (null: already said). */
  private retry(reason: string | null): void {
    if (this.stopped) return;
    // One line per outage, not one per attempt.
    if (this.failures === 0 && reason !== null) this.options.log(`dispatcher unreachable: ${reason}; retrying`);
    const delay = backoffDelay(this.failures);
    this.failures += 1;
    this.retryTimer = setTimeout(() => void this.connect(), delay);
  }

  private receive(conn: Connection, message: Message): void {
    this.heard = true;
    this.watchdog?.kick();
    switch (message.type) {
      case 'challenge':
        try {
          conn.send(answerChallenge(message.nonce, this.options.security.secret, 'observer', this.options.name));
        } catch (error) {
          this.authRefusal = (error as Error).message;
          conn.close();
        }
        return;
      case 'welcome':
        if (this.welcomed) return;
        if (message.version !== PROTOCOL_VERSION) {
          this.refusal = `dispatcher speaks protocol ${message.version}, this observer ${PROTOCOL_VERSION}`;
          conn.close();
          return;
        }
        this.watchdog = new Watchdog(message.deadlineMs, () => {
          this.refusal = `dispatcher silent for ${message.deadlineMs} ms`;
          conn.destroy();
        });
        this.watchdog.kick();
        conn.send({ type: 'observe', project: this.options.project, repo: this.options.repoUrl, supersede: this.options.supersede });
        return;
      case 'observing':
        if (this.welcomed) return;
        if (this.welcomeTimer) clearTimeout(this.welcomeTimer);
        this.welcomed = true;
        this.failures = 0;
        this.refusals.admitted();
        this.options.log(`connected to dispatcher at ${this.where}, observing ${message.project === null ? 'the default project' : `project ${message.project}`}`);
        this.flush();
        return;
      case 'queued':
        this.inFlight.delete(message.commit);
        this.options.source.acknowledged(message);
        return;
      case 'error':
        // The dispatcher closes after an error; the reason goes in the outage line.
        if (message.code === ErrorCode.authFailed && !this.welcomed) this.authRefusal = `${message.code}: ${message.message}`;
        else this.refusal = `refused (${message.code}: ${message.message})`;
        conn.close();
        return;
      case 'scan':
        this.options.source.scanNow();
        return;
      case 'ping':
        conn.send({ type: 'pong', seq: message.seq });
        return;
      case 'command': {
        const { id } = message;
        const read: PatchReader = (patch, version, offset) => new Promise((resolve, reject) => {
          if (!conn.isOpen) return reject(new Error('the connection to the dispatcher closed'));
          this.reads.set(`${patch}/${version}@${offset}`, { resolve, reject });
          conn.send({ type: 'patch-read', patch, version, offset });
        });
        void this.options.source.command(message.command, read).then((result) => {
          // Answered on the connection it came on; after a reconnect the dispatcher sends it again.
          if (conn.isOpen) conn.send({ type: 'command-result', id, ...result });
        });
        return;
      }
      case 'finished': {
        const { id } = message;
        // Not heard when it could not be kept: the dispatcher sends it again on the next connection.
        void this.options.source.finished(message).then(() => {
          if (conn.isOpen) conn.send({ type: 'heard', id });
        }, (error: Error) => this.options.log(`could not keep the result of build ${message.build.commit}: ${error.message}`));
        return;
      }
      case 'patch-bytes': {
        const key = `${message.patch}/${message.version}@${message.offset}`;
        this.reads.get(key)?.resolve({ data: Buffer.from(message.data, 'base64'), end: message.end });
        this.reads.delete(key);
        return;
      }
      default:
        this.refusal = `sent an unexpected ${message.type}`;
        conn.close();
    }
  }
}
