// Connection on a real socket pair: what a bad line's handler is given, and
// what each of its answers does to the connection.
import { strict as assert } from 'node:assert';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { test, type TestContext } from 'node:test';
import { ANSWERED, Connection } from '../../src/common/connection.js';
import { encode } from '../../src/protocol/codec.js';
import type { ProtocolError } from '../../src/protocol/errors.js';
import { LIMITS } from '../../src/protocol/limits.js';
import type { Message } from '../../src/protocol/messages.js';
import { listenOn } from '../helpers/listen.js';

interface Pair {
  /** The far end, as raw bytes. */
  peer: Socket;
  received: () => string;
  conn: Connection;
  messages: Message[];
  bad: Array<{ error: ProtocolError; line: string | null }>;
  /** Resolves with the next message the connection reads. */
  nextMessage: () => Promise<Message>;
}

async function pair(t: TestContext, verdict: unknown): Promise<Pair> {
  const { server, port } = await listenOn();
  const peer = connect(port, '127.0.0.1');
  const [socket] = (await once(server, 'connection')) as [Socket];
  // Both ends first: server.close waits for its connections.
  t.after(() => {
    peer.destroy();
    socket.destroy();
    return new Promise((resolve) => server.close(resolve));
  });
  let text = '';
  peer.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
  const messages: Message[] = [];
  const bad: Pair['bad'] = [];
  let wake: ((message: Message) => void) | null = null;
  const conn = new Connection(socket, {
    onMessage: (message) => {
      messages.push(message);
      wake?.(message);
    },
    onProtocolError: (error, line) => {
      bad.push({ error, line: line?.toString('utf8') ?? null });
      return verdict;
    },
  });
  const nextMessage = () => new Promise<Message>((resolve) => (wake = resolve));
  return { peer, received: () => text, conn, messages, bad, nextMessage };
}

/** Writes `lines` and a ping after them; resolves once the ping is read, so every line before it has been too. */
async function send(p: Pair, lines: string): Promise<void> {
  const ping = p.nextMessage();
  p.peer.write(`${lines}${encode({ type: 'ping', seq: 99 })}`);
  assert.deepEqual(await ping, { type: 'ping', seq: 99 });
}

test('the handler is given the bad line itself, without its CR', async (t) => {
  const p = await pair(t, true);
  await send(p, '{"type":"job","lease":"l1"}\r\n');
  assert.equal(p.bad.length, 1);
  assert.equal(p.bad[0]!.line, '{"type":"job","lease":"l1"}');
  assert.equal(p.bad[0]!.error.code, 'bad-field');
});

test('true: answered with an error, the connection goes on', async (t) => {
  const p = await pair(t, true);
  const answer = once(p.peer, 'data');
  await send(p, 'not json\n');
  assert.equal(p.conn.isOpen, true);
  await answer;
  assert.match(p.received(), /^\{"type":"error","code":"bad-json",/);
});

test('ANSWERED: nothing is sent, the connection goes on', async (t) => {
  const p = await pair(t, ANSWERED);
  await send(p, 'not json\n{"type":"job"}\n');
  assert.equal(p.bad.length, 2);
  assert.equal(p.conn.isOpen, true);
  p.conn.send({ type: 'pong', seq: 1 });
  await once(p.peer, 'data');
  assert.equal(p.received(), encode({ type: 'pong', seq: 1 }), 'the pong is the first thing sent');
});

test('anything else, and a line too long whatever the handler says: an error, then the connection closes', async (t) => {
  for (const verdict of [undefined, false, 'sent a bad line']) {
    const p = await pair(t, verdict);
    p.peer.write('not json\n');
    const cause = await p.conn.closed;
    assert.equal((cause as ProtocolError).code, 'bad-json', String(verdict));
    assert.match(p.received(), /^\{"type":"error","code":"bad-json",/);
  }
  const p = await pair(t, ANSWERED);
  p.peer.write(Buffer.alloc(LIMITS.lineBytes + 1, 0x61));
  assert.equal(((await p.conn.closed) as ProtocolError).code, 'line-too-long');
  assert.deepEqual(p.bad.map(({ line }) => line), [null], 'no whole line to give');
});
