// The runner's connection to the dispatcher: dial, hello, register, answer
// pings, and reconnect with backoff and jitter whenever the link drops or the
// dispatcher goes silent past its deadline. It never gives up.

import { formatAddress } from '../common/address.js';
import { backoffDelay } from '../common/backoff.js';
import { Connection } from '../common/connection.js';
import { dial } from '../common/dial.js';
import type { Log } from '../common/log.js';
import { PROTOCOL_VERSION, type Job, type Message, type Result } from '../protocol/messages.js';
import type { RunnerConfig } from './config.js';

export interface LinkHandlers {
  onJob(job: Job): void;
}

export class DispatcherLink {
  private conn: Connection | null = null;
  private registered = false;
  private failures = 0;
  private stopped = false;
  private watchdog: NodeJS.Timeout | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private deadlineMs = 0;
  /** Results not yet acknowledged with `recorded`; re-sent after a reconnect. */
  private readonly unacknowledged = new Map<string, Result>();

  constructor(
    private readonly config: RunnerConfig,
    private readonly log: Log,
    private readonly handlers: LinkHandlers,
  ) {}

  start(): void {
    void this.connect();
  }

  get isRegistered(): boolean {
    return this.registered && this.conn !== null && this.conn.isOpen;
  }

  /** Sends when registered; false when not connected or when the socket is full. */
  send(message: Message): boolean {
    return this.isRegistered ? this.conn!.send(message) : false;
  }

  /** Calls `listener` when the socket can take more, or at once when there is no socket. */
  onDrain(listener: () => void): void {
    if (this.isRegistered && this.conn!.needsDrain) this.conn!.onDrain(listener);
    else setImmediate(listener);
  }

  /** A result is kept until the dispatcher acknowledges it, across reconnects. */
  sendResult(result: Result): void {
    this.unacknowledged.set(result.lease, result);
    this.send(result);
  }

  stop(): Promise<void> {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.watchdog) clearTimeout(this.watchdog);
    if (!this.conn) return Promise.resolve();
    this.conn.close();
    return this.conn.closed.then(() => {});
  }

  private async connect(): Promise<void> {
    const where = formatAddress(this.config.dispatcher);
    let socket;
    try {
      socket = await dial(this.config.dispatcher);
    } catch (error) {
      this.retry(`cannot reach dispatcher at ${where}: ${(error as Error).message}`);
      return;
    }
    if (this.stopped) return void socket.destroy();
    const conn = new Connection(socket, {
      onMessage: (message) => this.receive(conn, message),
      onProtocolError: (error) => this.log(`bad line from dispatcher: ${error.message}`),
    });
    this.conn = conn;
    conn.send({ type: 'hello', version: PROTOCOL_VERSION, role: 'runner', name: this.config.name });
    void conn.closed.then((cause) => {
      if (this.conn !== conn) return;
      this.conn = null;
      const wasRegistered = this.registered;
      this.registered = false;
      if (this.watchdog) clearTimeout(this.watchdog);
      if (!this.stopped) this.retry(`${wasRegistered ? 'lost' : 'could not register with'} dispatcher at ${where}${cause ? `: ${cause.message}` : ''}`);
    });
  }

  private retry(reason: string): void {
    if (this.stopped) return;
    const delay = backoffDelay(this.failures);
    // One line per outage, not one per attempt.
    if (this.failures === 0) this.log(`${reason}; reconnecting`);
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

  private receive(conn: Connection, message: Message): void {
    if (this.deadlineMs > 0) this.armWatchdog(conn);
    switch (message.type) {
      case 'welcome':
        this.deadlineMs = message.deadlineMs;
        this.armWatchdog(conn);
        conn.send({ type: 'register', name: this.config.name, slots: this.config.slots, labels: [...this.config.labels] });
        return;
      case 'registered':
        this.registered = true;
        this.failures = 0;
        this.log(`registered with dispatcher at ${formatAddress(this.config.dispatcher)} as ${message.name}`);
        for (const result of this.unacknowledged.values()) conn.send(result);
        return;
      case 'ping':
        conn.send({ type: 'pong', seq: message.seq });
        return;
      case 'job':
        this.handlers.onJob(message);
        return;
      case 'recorded':
        this.unacknowledged.delete(message.lease);
        if (!message.accepted) this.log(`dispatcher dropped the result of lease ${message.lease} as stale`);
        return;
      case 'error':
        this.log(`dispatcher error: ${message.code}: ${message.message}`);
        return;
      default:
        this.log(`unexpected ${message.type} from dispatcher`);
    }
  }
}
