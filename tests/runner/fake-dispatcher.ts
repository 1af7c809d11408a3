// A stand-in dispatcher for runner tests: a real TCP server on 127.0.0.1
// that speaks the protocol with the real codec. It answers hello with
// welcome and register with registered, answers each result with recorded
// (unless told to hold), lets the test send jobs, and records everything it
// received with the number of the connection that carried it.
import type { Server, Socket } from 'node:net';
import { decode, encode } from '../../src/protocol/codec.js';
import { LineSplitter } from '../../src/protocol/line-splitter.js';
import { listenOn } from '../helpers/listen.js';
import { PROTOCOL_VERSION, type Job, type Message, type MessageOf, type MessageType } from '../../src/protocol/messages.js';

export type Received = Message & { connection: number };

export class FakeDispatcher {
  readonly received: Received[] = [];
  /** When false, results are recorded here but never answered. */
  ack = true;
  private connections = 0;
  private readonly sockets = new Map<number, Socket>();
  private readonly waiters = new Set<() => void>();

  private constructor(private readonly server: Server, readonly port: number) {}

  /** Listens on `port` (0 for a free one); the same port again brings a "restarted" dispatcher back. */
  static async listen(port = 0): Promise<FakeDispatcher> {
    const { server, port: bound } = await listenOn(port);
    const fake = new FakeDispatcher(server, bound);
    server.on('connection', (socket) => fake.accept(socket));
    return fake;
  }

  /** Every message of `type` received so far. */
  all<T extends MessageType>(type: T): (MessageOf<T> & { connection: number })[] {
    return this.received.filter((m) => m.type === type) as (MessageOf<T> & { connection: number })[];
  }

  /** Resolves with the first received message (seen or to come) of `type` that passes `match`. */
  waitFor<T extends MessageType>(type: T, match: (m: MessageOf<T> & { connection: number }) => boolean = () => true, timeoutMs = 15_000): Promise<MessageOf<T> & { connection: number }> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const found = this.all(type).find(match);
        if (found !== undefined) done(() => resolve(found));
      };
      const timer = setTimeout(() => done(() => reject(new Error(`no matching ${type} within ${timeoutMs} ms; got ${this.received.map((m) => m.type).join(',')}`))), timeoutMs);
      const done = (settle: () => void) => {
        clearTimeout(timer);
        this.waiters.delete(check);
        settle();
      };
      this.waiters.add(check);
      check();
    });
  }

  /** Sends a job on the newest connection. */
  sendJob(job: Omit<Job, 'type'>): void {
    this.send({ type: 'job', ...job });
  }

  send(message: Message): void {
    this.sendLine(encode(message));
  }

  /** Writes `line` as it is on the newest connection, for lines the codec would never encode. */
  sendLine(line: string): void {
    const socket = this.sockets.get(this.connections);
    if (socket === undefined) throw new Error('no runner connected');
    socket.write(line.endsWith('\n') ? line : `${line}\n`);
  }

  /** How many times a runner has connected. */
  get connectionCount(): number {
    return this.connections;
  }

  /** Cuts every connection and stops listening, as a dispatcher crash would. */
  async close(): Promise<void> {
    for (const socket of this.sockets.values()) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(socket: Socket): void {
    const connection = ++this.connections;
    const splitter = new LineSplitter(2 * 1024 * 1024);
    this.sockets.set(connection, socket);
    socket.on('close', () => this.sockets.delete(connection));
    socket.on('error', () => {});
    socket.on('data', (chunk: Buffer) => {
      for (const line of splitter.push(chunk)) this.receive(socket, decode(line), connection);
      for (const wake of [...this.waiters]) wake();
    });
  }

  private receive(socket: Socket, message: Message, connection: number): void {
    this.received.push({ ...message, connection });
    const reply = (answer: Message) => socket.write(encode(answer));
    // No pings: a long deadline keeps the runner from dropping a quiet link.
    if (message.type === 'hello') reply({ type: 'welcome', version: PROTOCOL_VERSION, heartbeatMs: 30_000, deadlineMs: 60_000 });
    else if (message.type === 'register') reply({ type: 'registered', name: message.name });
    else if (message.type === 'result' && this.ack) reply({ type: 'recorded', lease: message.lease, accepted: true });
  }
}
