// The runner's connection to the dispatcher: dial, hello, register, answer
// pings, and reconnect with backoff and jitter whenever the link drops or the
// dispatcher goes silent past its deadline. It never gives up.
//
// Nothing is lost across an outage: `register` names every lease the runner
// still holds (so a restarted dispatcher can re-bind them instead of running
// the commit again), output produced meanwhile is held in a bounded backlog,
// and results wait in the spool until the dispatcher answers `recorded`.
// After `registered` the runner sends, in this order: `drain` (if shutting
// down), the held output, then every spooled result, each after its
// artifacts (artifact-send.ts).

import { formatAddress } from '../common/address.js';
import { backoffDelay } from '../common/backoff.js';
import { ANSWERED, Connection } from '../common/connection.js';
import { dial, explainClose } from '../common/dial.js';
import { AuthRefusals } from '../common/auth-refusals.js';
import { answerChallenge, hello } from '../common/hello.js';
import type { Log } from '../common/log.js';
import { ErrorCode } from '../protocol/error-codes.js';
import type { ProtocolError } from '../protocol/errors.js';
import { LIMITS } from '../protocol/limits.js';
import { type Job, type Message, type Result, type Stream } from '../protocol/messages.js';
import type { RunnerConfig } from './config.js';
import { OutputBacklog } from './output-backlog.js';
import { sendWithArtifacts } from './artifact-send.js';
import { refusedJobLease } from './refused-job.js';
import type { ResultSpool } from './result-spool.js';

export interface LinkOptions {
  spool: ResultSpool;
  onJob(job: Job): void;
  /** The dispatcher sent a `job` for `lease` that the codec refused for `error`. */
  onRefusedJob(lease: string, error: ProtocolError): void;
  /** The dispatcher cancelled the job holding `lease`. */
  onAbort(lease: string): void;
  /** Leases of the jobs running now. */
  runningLeases(): Iterable<string>;
  /** The dispatcher refused this runner's secret (or lack of one) MAX_AUTH_REFUSALS times in a row: give up. */
  onRefused(reason: string): void;
}

export class DispatcherLink {
  private conn: Connection | null = null;
  private registered = false;
  private draining = false;
  private failures = 0;
  private stopped = false;
  private watchdog: NodeJS.Timeout | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private deadlineMs = 0;
  private readonly backlog = new OutputBacklog();
  /** The results being sent on the current connection, in order. */
  private delivering: Promise<void> = Promise.resolve();
  private readonly refusals = new AuthRefusals();
  /** Why the dispatcher will not admit this runner, learnt on the current connection. */
  private authRefusal: string | null = null;
  /** An `error` the dispatcher sent before `registered` (tls-required, ...): why it closed. */
  private refusal: string | null = null;
  /** The dispatcher has sent something on the current connection. */
  private heard = false;
  /** Output writers waiting for the socket to drain; also released when it closes. */
  private drainWaiters: (() => void)[] = [];

  constructor(
    private readonly config: RunnerConfig,
    private readonly log: Log,
    private readonly options: LinkOptions,
  ) {}

  start(): void {
    void this.connect();
  }

  get isRegistered(): boolean {
    return this.registered && this.conn !== null && this.conn.isOpen;
  }

  /**
   * Sends output, or holds it while the dispatcher is unreachable. False only
   * when the socket is full: the caller then waits for onDrain.
   */
  sendOutput(lease: string, stream: Stream, data: string): boolean {
    if (this.isRegistered) return this.conn!.send({ type: 'output', lease, stream, data });
    this.backlog.push(lease, stream, data);
    return true;
  }

  /** Calls `listener` when the socket can take more, or at once when there is no socket. */
  onDrain(listener: () => void): void {
    if (!this.isRegistered || !this.conn!.needsDrain) return void setImmediate(listener);
    const first = this.drainWaiters.length === 0;
    this.drainWaiters.push(listener);
    if (first) this.conn!.onDrain(() => this.releaseDrainWaiters());
  }

  /** Spools the result, then sends it (after its artifacts) if registered; it is re-sent after every reconnect until recorded. */
  async sendResult(result: Result): Promise<void> {
    await this.options.spool.add(result);
    if (this.isRegistered) this.deliver(this.conn!, result);
  }

  /** Results go one after another on a connection, each after its artifacts, so files are not read all at once. */
  private deliver(conn: Connection, result: Result): void {
    this.delivering = this.delivering.then(() => (conn.isOpen ? sendWithArtifacts(conn, result, this.options.spool.artifactsDir(result.lease), this.log) : undefined));
  }

  /** Drops held output of a job whose output nobody will want (handed back unfinished). */
  forgetOutput(lease: string): void {
    this.backlog.forget(lease);
  }

  /** Asks the dispatcher for no more jobs, now and after any reconnect. */
  drain(): void {
    if (this.draining) return;
    this.draining = true;
    if (this.isRegistered) this.conn!.send({ type: 'drain' });
  }

  stop(): Promise<void> {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.watchdog) clearTimeout(this.watchdog);
    this.releaseDrainWaiters();
    if (!this.conn) return Promise.resolve();
    this.conn.close();
    return this.conn.closed.then(() => {});
  }

  private releaseDrainWaiters(): void {
    for (const listener of this.drainWaiters.splice(0)) listener();
  }

  private async connect(): Promise<void> {
    const where = formatAddress(this.config.dispatcher);
    let socket;
    try {
      socket = await dial(this.config.dispatcher, this.config.security.tls);
    } catch (error) {
      this.retry(`cannot reach dispatcher at ${where}: ${(error as Error).message}`);
      return;
    }
    if (this.stopped) return void socket.destroy();
    const conn = new Connection(socket, {
      onMessage: (message) => this.receive(conn, message),
      onProtocolError: (error, line) => this.badLine(error, line),
    });
    this.conn = conn;
    this.authRefusal = null;
    this.refusal = null;
    this.heard = false;
    conn.send(hello('runner', this.config.name));
    void conn.closed.then((cause) => {
      if (this.conn !== conn) return;
      this.conn = null;
      const wasRegistered = this.registered;
      this.registered = false;
      if (this.watchdog) clearTimeout(this.watchdog);
      // A closed socket never emits 'drain'; writers resume into the backlog instead.
      this.releaseDrainWaiters();
      if (this.stopped) return;
      if (this.authRefusal !== null) return this.refused(`dispatcher at ${where} refused this runner: ${this.authRefusal}`);
      const why = this.refusal ?? explainClose(cause, this.config.dispatcher, this.config.security.tls, this.heard)?.message;
      this.retry(`${wasRegistered ? 'lost' : 'could not register with'} dispatcher at ${where}${why ? `: ${why}` : ''}`);
    });
  }

  /** A refused `job` is answered alone and the link goes on; any other bad line closes it (it is then reopened). */
  private badLine(error: ProtocolError, line: Buffer | null): unknown {
    const lease = refusedJobLease(line);
    if (lease === null) {
      this.log(`bad line from dispatcher: ${error.message}`);
      return false;
    }
    this.options.onRefusedJob(lease, error);
    return ANSWERED;
  }

  /** Said once; after a few refusals in a row the runner gives up rather than retry forever. */
  private refused(reason: string): void {
    const step = this.refusals.refused(reason);
    if (step.say !== null) this.log(step.say);
    if (step.giveUp) return this.options.onRefused(reason);
    this.retry(null);
  }

  /** Reconnects after a backoff; `reason` is logged once per outage (null: already said). */
  private retry(reason: string | null): void {
    if (this.stopped) return;
    const delay = backoffDelay(this.failures);
    // One line per outage, not one per attempt.
    if (this.failures === 0 && reason !== null) this.log(`${reason}; reconnecting`);
    this.failures += 1;
    this.retryTimer = setTimeout(() => void this.connect(), delay);
  }

  private armWatchdog(conn: Connection): void {
    if (this.watchdog) clearTimeout(this.watchdog);
    this.watchdog = setTimeout(() => {
      this.log(`dispatcher silent for ${this.deadlineMs} ms`);
      conn.destroy(new Error('dispatcher silent past its deadline'));
    }, this.deadlineMs);
  }

  /**
   * Running jobs first, then finished ones whose results are not yet
   * recorded; at most the protocol's cap, far above what slots and a sane
   * spool hold.
   */
  private heldLeases(): string[] {
    const leases = new Set([...this.options.runningLeases(), ...this.options.spool.leases()]);
    return [...leases].slice(0, LIMITS.heldLeases);
  }

  private onRegistered(conn: Connection, name: string): void {
    this.registered = true;
    this.failures = 0;
    this.refusals.admitted();
    this.log(`registered with dispatcher at ${formatAddress(this.config.dispatcher)} as ${name}`);
    if (this.draining) conn.send({ type: 'drain' });
    const { messages, dropped } = this.backlog.take();
    for (const [lease, bytes] of dropped) this.log(`lease ${lease}: ${bytes} bytes of output lost while the dispatcher was unreachable`);
    for (const message of messages) conn.send(message);
    const results = this.options.spool.values();
    if (results.length > 0) this.log(`sending ${results.length} unrecorded result(s)`);
    this.delivering = Promise.resolve();
    for (const result of results) this.deliver(conn, result);
  }

  private receive(conn: Connection, message: Message): void {
    this.heard = true;
    if (this.deadlineMs > 0) this.armWatchdog(conn);
    switch (message.type) {
      case 'challenge':
        try {
          conn.send(answerChallenge(message.nonce, this.config.security.secret, 'runner', this.config.name));
        } catch (error) {
          this.authRefusal = (error as Error).message;
          conn.close(error as Error);
        }
        return;
      case 'welcome':
        this.deadlineMs = message.deadlineMs;
        this.armWatchdog(conn);
        conn.send({ type: 'register', name: this.config.name, slots: this.config.slots, labels: [...this.config.labels], leases: this.heldLeases() });
        return;
      case 'registered':
        this.onRegistered(conn, message.name);
        return;
      case 'ping':
        conn.send({ type: 'pong', seq: message.seq });
        return;
      case 'job':
        this.options.onJob(message);
        return;
      case 'abort':
        this.options.onAbort(message.lease);
        return;
      case 'recorded':
        if (message.accepted) this.log(`dispatcher recorded the result of lease ${message.lease}`);
        else this.log(`dispatcher dropped the result of lease ${message.lease} as stale`);
        void this.options.spool.remove(message.lease);
        return;
      case 'error':
        // Refused admission: the connection closes next, and the reason is said there.
        if (message.code === ErrorCode.authFailed && !this.registered) this.authRefusal = `${message.code}: ${message.message}`;
        else if (!this.registered) this.refusal = `${message.code}: ${message.message}`;
        else this.log(`dispatcher error: ${message.code}: ${message.message}`);
        return;
      default:
        this.log(`unexpected ${message.type} from dispatcher`);
    }
  }
}
