// The limits on what a peer may cost the dispatcher, end to end on a
// dispatcher in this process: how long it may stay silent, how many may wait
// to say hello, how long a line may be, how many bad lines an admitted peer
// is forgiven, and how much log a job may keep. Each test fails if its limit
// is taken away.
import { strict as assert } from 'node:assert';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { encode } from '../../src/protocol/codec.js';
import { world } from '../helpers/e2e.js';
import {
  connectAs, connectObserver, connectRaw, connectRunner, expectRefused, helloMessage, outputMessage, query, queryMessage, resultMessage,
} from '../helpers/e2e-wire.js';
import { waitFor } from '../helpers/temp.js';

test('--hello-timeout: a silent connection is closed with hello-timeout', async (t) => {
  const d = await world(t).inProcess(['--hello-timeout', '0.2']);
  const silent = await connectRaw(t, d.port);
  const started = Date.now();
  await expectRefused(silent, 'hello-timeout');
  assert.ok(Date.now() - started < 5000, 'closed after about 0.2 s, not the 10 s default');
});

test('--max-pending: a connection beyond the cap closes the oldest silent one with busy, and the new peer is admitted', async (t) => {
  const d = await world(t).inProcess(['--max-pending', '3']);
  const silent = [await connectRaw(t, d.port), await connectRaw(t, d.port), await connectRaw(t, d.port)];
  const fourth = await connectRaw(t, d.port);
  await expectRefused(silent[0]!, 'busy');
  fourth.send(helloMessage('client', 'fourth'));
  await fourth.next('welcome');
  assert.equal((await query(fourth)).type, 'status', 'the newest is served');
  for (const peer of silent.slice(1)) assert.equal(peer.isClosed, false, 'the younger silent ones are still waiting');
});

test('--max-pending-per-source: silent sockets from one address cannot fill the dispatcher; a fresh status call always gets in', async (t) => {
  const d = await world(t).inProcess(['--max-pending', '64', '--max-pending-per-source', '8']);
  const silent = await Promise.all(Array.from({ length: 80 }, () => connectRaw(t, d.port)));
  await waitFor(() => silent.filter((peer) => peer.isClosed).length >= 72, 'all but the newest 8 silent sockets closed', 10_000);
  for (let i = 0; i < 3; i++) {
    const client = await connectAs(t, d.port, 'client', `fresh-${i}`);
    assert.equal((await query(client)).type, 'status', 'a fresh client is admitted and answered');
  }
});

test('--max-line-mib 1: a 2 MiB line gets line-too-long and the connection closes, admitted or not', async (t) => {
  const d = await world(t).inProcess(['--max-line-mib', '1']);
  const stranger = await connectRaw(t, d.port);
  stranger.sendRaw(encode(helloMessage('client', 'x'.repeat(2 * 1024 * 1024))));
  await expectRefused(stranger, 'line-too-long');

  const client = await connectAs(t, d.port, 'client');
  client.sendRaw(encode(queryMessage('x'.repeat(2 * 1024 * 1024))));
  await expectRefused(client, 'line-too-long');

  const after = await connectAs(t, d.port, 'client');
  assert.equal((await query(after)).type, 'status', 'others are still served');
});

test('--max-errors 2: an admitted observer is forgiven two bad lines and closed at the third', async (t) => {
  const w = world(t);
  const d = await w.inProcess(['--max-errors', '2']);
  // A real commit, so the dispatcher can read whatever it likes from it.
  const sha = w.push({ 'README.md': 'security test\n' }, 'a commit to build');
  const observer = await connectObserver(t, d.port, { repo: w.central });
  observer.peer.sendRaw('{not json\n');
  assert.equal((await observer.peer.next('error')).code, 'bad-json');
  observer.send('HEAD');
  assert.equal((await observer.peer.next('error')).code, 'bad-field');
  // Still served after two.
  assert.equal((await observer.report(sha)).commit, sha);
  observer.peer.sendRaw('[1,2]\n');
  await expectRefused(observer.peer, 'not-an-object');
});

test('--max-log-mib 2: 5 MiB of output leaves the head, the last MiB and a note of what was dropped', async (t) => {
  const w = world(t);
  const d = await w.inProcess(['--max-log-mib', '2']);
  const sha = w.push({ 'README.md': 'security test\n' }, 'a commit to build');
  const runner = await connectRunner(t, d.port, { name: 'log-runner' });
  const observer = await connectObserver(t, d.port, { repo: w.central });
  await observer.report(sha);
  const job = await runner.next('job');

  const CHUNK = 64 * 1024;
  const chunks = 80; // 5 MiB
  const filler = `${'x'.repeat(99)}\n`.repeat(CHUNK / 100 + 1);
  for (let i = 0; i < chunks; i++) {
    let data = filler.slice(0, CHUNK);
    if (i === 0) data = `FIRST-OUTPUT-BYTES${data.slice(18)}`;
    if (i === chunks / 2) data = `MIDDLE-OUTPUT-BYTES${data.slice(19)}`;
    if (i === chunks - 1) data = `${data.slice(0, -18)}LAST-OUTPUT-BYTES\n`;
    runner.send(outputMessage(job.lease, data));
  }
  runner.send(resultMessage(job.lease));
  assert.deepEqual(await runner.next('recorded', 60_000), { type: 'recorded', lease: job.lease, accepted: true });
  await w.result(sha);

  const logPath = join(w.results, `${sha}.log`);
  const size = statSync(logPath).size;
  assert.ok(size <= 2 * 1024 * 1024 + 16 * 1024, `the log is capped near 2 MiB, got ${size} bytes`);
  assert.ok(size >= 2 * 1024 * 1024 - 16 * 1024, `the log keeps about 2 MiB, got ${size} bytes`);
  const log = readFileSync(logPath, 'utf8');
  assert.ok(log.includes('FIRST-OUTPUT-BYTES'), 'the head is kept');
  assert.ok(log.includes('LAST-OUTPUT-BYTES'), 'the last bytes are kept');
  assert.equal(log.includes('MIDDLE-OUTPUT-BYTES'), false, 'the middle is dropped');
  assert.match(log, /dropped/);
  assert.match(log, /\d{6,} bytes/, 'the note says how many bytes were dropped');
});

test('--max-buffered-mib: unfinished lines of all peers together are bounded; the peer holding most is closed, the rest served', async (t) => {
  const d = await world(t).inProcess(['--max-buffered-mib', '2', '--max-line-mib', '1']);
  const holders = [await connectAs(t, d.port, 'client', 'h1'), await connectAs(t, d.port, 'client', 'h2'), await connectAs(t, d.port, 'client', 'h3')];
  // 2.4 MiB of unfinished lines in all, each under the 1 MiB line limit.
  for (const holder of holders) holder.sendRaw(`{"type":"query","commit":"${'x'.repeat(800 * 1024)}`);
  const closed = await waitFor(() => {
    const refused = holders.filter((holder) => holder.isClosed);
    return refused.length > 0 ? refused : null;
  }, 'a holder to be closed');
  assert.equal(closed.length, 1, 'closing the one holding most brings the total back within the budget');
  assert.equal(closed[0]!.received.find((m) => m.type === 'error')?.code, 'busy');
  const fresh = await connectAs(t, d.port, 'client', 'fresh');
  assert.equal((await query(fresh)).type, 'status', 'a new peer is served');
});

test('--client-idle: a client that asks nothing is closed; one waiting on an answer is not', async (t) => {
  const w = world(t);
  const d = await w.inProcess(['--client-idle', '0.3']);
  const idle = await connectAs(t, d.port, 'client', 'idle');
  await expectRefused(idle, 'idle');

  const observer = await connectObserver(t, d.port, { repo: w.central }, { name: 'slow-observer' });
  const admin = await connectAs(t, d.port, 'admin', 'owner');
  admin.send({ type: 'build', ref: 'refs/heads/main', commit: null, project: null });
  const command = await observer.peer.next('command');
  // A client that connects now and asks nothing is the clock: once it is closed, an idle period has passed.
  const clock = await connectAs(t, d.port, 'client', 'clock');
  await expectRefused(clock, 'idle');
  assert.equal(admin.isClosed, false, 'a client waiting for its answer is not idle');
  observer.peer.send({ type: 'command-result', id: command.id, ok: false, code: 'unknown-ref', message: 'no such branch', commit: null, answer: null });
  assert.equal((await admin.next('done')).code, 'unknown-ref');
});
