// A protocol-level peer for the benchmarks, written against src/protocol
// only: a runner that registers and answers pings (and, if asked, finishes
// every job at once with a passed outcome), or an observer that sends
// commits. Real sockets, real codec; no git, no processes.

import { connect, type Socket } from 'node:net';
import { decode, encode } from '../src/protocol/codec.js';
import { LineSplitter } from '../src/protocol/line-splitter.js';
import { PROTOCOL_VERSION, type Job, type Message, type Role } from '../src/protocol/messages.js';
import type { RunOutcome } from '../src/protocol/records.js';

export interface PeerHandlers {
  onJob?(job: Job, peer: FakePeer): void;
  onPing?(seq: number, peer: FakePeer): void;
  onMessage?(message: Message, peer: FakePeer): void;
}

export class FakePeer {
  private readonly splitter = new LineSplitter(64 * 1024 * 1024);
  private welcomed!: () => void;
  readonly welcome = new Promise<void>((resolve) => (this.welcomed = resolve));
  readonly closed: Promise<void>;

  private constructor(readonly socket: Socket, private readonly handlers: PeerHandlers) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      for (const line of this.splitter.push(chunk)) this.receive(decode(line));
    });
    socket.on('error', () => {});
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
  }

  static connect(port: number, role: Role, name: string, handlers: PeerHandlers = {}): Promise<FakePeer> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port }, () => {
        socket.off('error', reject);
        const peer = new FakePeer(socket, handlers);
        peer.send({ type: 'hello', version: PROTOCOL_VERSION, role, name });
        resolve(peer);
      });
      socket.once('error', reject);
    });
  }

  /** A runner that is registered once this resolves. */
  static async runner(port: number, name: string, handlers: PeerHandlers = {}, slots = 1): Promise<FakePeer> {
    let registered!: () => void;
    const done = new Promise<void>((resolve) => (registered = resolve));
    const peer = await FakePeer.connect(port, 'runner', name, {
      ...handlers,
      onMessage: (message, self) => {
        if (message.type === 'registered') registered();
        handlers.onMessage?.(message, self);
      },
    });
    await peer.welcome;
    peer.send({ type: 'register', name, slots, labels: [], leases: [] });
    await done;
    return peer;
  }

  /** An observer of the default project, registered once this resolves. */
  static async observer(port: number, name: string, repo: string): Promise<FakePeer> {
    let observing!: () => void;
    const done = new Promise<void>((resolve) => (observing = resolve));
    const peer = await FakePeer.connect(port, 'observer', name, {
      onMessage: (message) => {
        if (message.type === 'observing') observing();
      },
    });
    await peer.welcome;
    peer.send({ type: 'observe', project: null, repo, supersede: false });
    await done;
    return peer;
  }

  send(message: Message): boolean {
    return this.socket.write(encode(message));
  }

  close(): void {
    this.socket.destroy();
  }

  private receive(message: Message): void {
    switch (message.type) {
      case 'welcome': this.welcomed(); break;
      case 'ping':
        this.send({ type: 'pong', seq: message.seq });
        this.handlers.onPing?.(message.seq, this);
        break;
      case 'job': this.handlers.onJob?.(message, this); break;
    }
    this.handlers.onMessage?.(message, this);
  }
}

export function passedOutcome(): RunOutcome {
  return {
    status: 'passed', exitCode: 0, signal: null, timedOut: false,
    startedAt: new Date().toISOString(), durationMs: 0, command: ['true'], message: '', counts: null,
    infra: false, cancelled: false, failedTests: [], junit: null,
  };
}

export interface NoopCounts {
  jobs: number;
  recorded: number;
}

/** A runner that finishes every job at once, as a no-op test would, counting jobs and `recorded` replies. */
export function noopRunner(port: number, name: string, counts: NoopCounts): Promise<FakePeer> {
  return FakePeer.runner(port, name, {
    onJob: (job, peer) => {
      counts.jobs += 1;
      peer.send({ type: 'result', lease: job.lease, outcome: passedOutcome() });
    },
    onMessage: (message) => {
      if (message.type === 'recorded') counts.recorded += 1;
    },
  });
}
