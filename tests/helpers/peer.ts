// A hand-written protocol peer for tests: real socket, real codec, and a way
// to wait for the next message of a given type.
import { connect, type Socket } from 'node:net';
import { connect as connectTls, type ConnectionOptions } from 'node:tls';
import { decode, encode } from '../../src/protocol/codec.js';
import { LineSplitter } from '../../src/protocol/line-splitter.js';
import type { Message, MessageOf, MessageType, Role } from '../../src/protocol/messages.js';
import { PROTOCOL_VERSION } from '../../src/protocol/messages.js';

export class TestPeer {
  readonly received: Message[] = [];
  readonly closed: Promise<void>;
  private waiters: Array<() => void> = [];
  private readonly splitter = new LineSplitter(64 * 1024 * 1024);
  private pongs = false;

  private constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      for (const line of this.splitter.push(chunk)) {
        const message = decode(line);
        if (this.pongs && message.type === 'ping') this.send({ type: 'pong', seq: message.seq });
        else this.received.push(message);
      }
      for (const wake of this.waiters.splice(0)) wake();
    });
    socket.on('error', () => {});
    this.closed = new Promise((resolve) => socket.on('close', () => {
      for (const wake of this.waiters.splice(0)) wake();
      resolve();
    }));
  }

  /** A plain TCP connection, or a TLS one with `tls` (its CA, and a client certificate if asked). */
  static connect(port: number, tls?: ConnectionOptions): Promise<TestPeer> {
    return new Promise((resolve, reject) => {
      const socket: Socket = tls
        ? connectTls({ ...tls, host: '127.0.0.1', port }, () => resolve(new TestPeer(socket)))
        : connect({ host: '127.0.0.1', port }, () => resolve(new TestPeer(socket)));
      socket.once('error', reject);
    });
  }

  /** Connects and completes the hello/welcome handshake. */
  static async as(port: number, role: Role, name = `test-${role}`): Promise<TestPeer> {
    const peer = await TestPeer.connect(port);
    peer.send({ type: 'hello', version: PROTOCOL_VERSION, role, name });
    await peer.next('welcome');
    return peer;
  }

  /** An observer registered for `project` (null: the default) whose commits runners fetch from `repo`. */
  static async observer(port: number, repo: string, options: { project?: string | null; supersede?: boolean; name?: string } = {}): Promise<TestPeer> {
    const peer = await TestPeer.as(port, 'observer', options.name);
    const project = options.project ?? null;
    peer.send({ type: 'observe', project, repo, supersede: options.supersede ?? false });
    await peer.next('observing');
    return peer.answerPings();
  }

  /** Reports a commit as an observer; resolves with the dispatcher's `queued`. */
  async report(commit: string, ref = 'refs/heads/main'): Promise<MessageOf<'queued'>> {
    this.send({ type: 'commit', commit, ref });
    return this.next('queued');
  }

  /** From now on, answer every ping at once, as a live runner does. */
  answerPings(): this {
    this.pongs = true;
    return this;
  }

  send(message: Message): void {
    this.socket.write(encode(message));
  }

  sendRaw(data: string | Buffer): void {
    this.socket.write(data);
  }

  get isClosed(): boolean {
    return this.socket.destroyed || this.socket.readableEnded;
  }

  /** Resolves with the first not-yet-taken message of `type`; rejects if the socket closes first. */
  async next<T extends MessageType>(type: T, timeoutMs = 20_000): Promise<MessageOf<T>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const index = this.received.findIndex((m) => m.type === type);
      if (index !== -1) return this.received.splice(index, 1)[0] as MessageOf<T>;
      if (this.socket.destroyed) throw new Error(`connection closed before a ${type} arrived; got ${this.received.map((m) => m.type).join(',')}`);
      if (Date.now() > deadline) throw new Error(`no ${type} within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.max(1, deadline - Date.now()));
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  close(): void {
    this.socket.destroy();
  }
}
