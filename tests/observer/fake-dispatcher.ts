// A stand-in dispatcher for observer tests: a real TCP server that speaks the
// protocol with the real codec, answers hello with welcome, observe with
// observing, each commit with queued (unless told to hold), and records
// everything it received; it can also send the observer a command.
import type { Server, Socket } from 'node:net';
import { decode, encode } from '../../src/protocol/codec.js';
import { LineSplitter } from '../../src/protocol/line-splitter.js';
import type { ErrorCode } from '../../src/protocol/error-codes.js';
import { listenOn } from '../helpers/listen.js';
import { PROTOCOL_VERSION, type Commit, type CommandResult, type Hello, type Message, type Observe, type ObserverCommand } from '../../src/protocol/messages.js';

export interface Received extends Commit {
  /** Which connection (1, 2, …) carried it. */
  connection: number;
  /** The repository its observer registered with. */
  repo: string;
}

export class FakeDispatcher {
  readonly commits: Received[] = [];
  readonly hellos: Hello[] = [];
  readonly observes: Observe[] = [];
  readonly results: CommandResult[] = [];
  connections = 0;
  /** When false, commits are recorded but never answered. */
  ack = true;
  /** When set, hello is answered with this error and the socket closed. */
  refuseWith: { code: ErrorCode; message: string } | null = null;
  private readonly sockets = new Set<Socket>();
  private readonly known = new Set<string>();

  private constructor(private readonly server: Server, readonly port: number) {}

  static async listen(port = 0): Promise<FakeDispatcher> {
    const { server, port: bound } = await listenOn(port);
    const fake = new FakeDispatcher(server, bound);
    server.on('connection', (socket) => fake.accept(socket));
    return fake;
  }

  /** Distinct commit ids in the order they first arrived. */
  get shas(): string[] {
    return [...new Set(this.commits.map((c) => c.commit))];
  }

  /** Sends a command to every connected observer. */
  command(id: string, command: ObserverCommand): void {
    for (const socket of this.sockets) socket.write(encode({ type: 'command', id, command }));
  }

  /** Cuts every open connection, as a dispatcher crash would. */
  dropAll(): void {
    for (const socket of this.sockets) socket.destroy();
  }

  async close(): Promise<void> {
    this.dropAll();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(socket: Socket): void {
    const connection = ++this.connections;
    const splitter = new LineSplitter(1024 * 1024);
    const registration: { observe: Observe | null } = { observe: null };
    this.sockets.add(socket);
    // A dispatcher pings its observers; one that went quiet past the deadline would be dropped.
    let seq = 0;
    const pings = setInterval(() => socket.write(encode({ type: 'ping', seq: ++seq })), 1000);
    socket.on('close', () => {
      clearInterval(pings);
      this.sockets.delete(socket);
    });
    socket.on('error', () => {});
    socket.on('data', (chunk: Buffer) => {
      for (const line of splitter.push(chunk)) this.receive(socket, decode(line), connection, registration);
    });
  }

  private receive(socket: Socket, message: Message, connection: number, registration: { observe: Observe | null }): void {
    if (message.type === 'hello') {
      this.hellos.push(message);
      if (this.refuseWith) {
        socket.end(encode({ type: 'error', ...this.refuseWith }));
        return;
      }
      socket.write(encode({ type: 'welcome', version: PROTOCOL_VERSION, heartbeatMs: 1000, deadlineMs: 30_000 }));
      return;
    }
    if (message.type === 'observe') {
      this.observes.push(message);
      registration.observe = message;
      socket.write(encode({ type: 'observing', project: message.project }));
      return;
    }
    if (message.type === 'pong') return;
    if (message.type === 'command-result') return void this.results.push(message);
    if (message.type !== 'commit') throw new Error(`observer sent unexpected ${message.type}`);
    if (registration.observe === null) throw new Error('observer sent a commit before observe');
    this.commits.push({ ...message, repo: registration.observe.repo, connection });
    if (!this.ack) return;
    const duplicate = this.known.has(message.commit);
    this.known.add(message.commit);
    socket.write(encode({ type: 'queued', commit: message.commit, duplicate }));
  }
}
