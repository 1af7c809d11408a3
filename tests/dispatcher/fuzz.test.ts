// A live in-process dispatcher fed at least 100,000 hostile lines, seeded
// (KEEL_FUZZ_SEED=<n> replays a run), while a well-behaved runner and
// observer build one commit through it. The dispatcher must not throw, must
// close a peer at its first bad line before hello and answer each bad line
// of an admitted peer with an `error`, must keep its memory bounded, and must
// write no file but that commit's results.
import { strict as assert } from 'node:assert';
import { existsSync, readdirSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { parseDispatcherConfig } from '../../src/dispatcher/config.js';
import { startDispatcher } from '../../src/dispatcher/dispatcher.js';
import { decode } from '../../src/protocol/codec.js';
import type { Message } from '../../src/protocol/messages.js';
import { fullOutcome } from '../protocol/fixtures.js';
import { LineFuzzer } from '../helpers/fuzz-lines.js';
import { commitFiles, makeRepo } from '../helpers/git-repo.js';
import { TestPeer } from '../helpers/peer.js';
import { tempDir, waitFor } from '../helpers/temp.js';

const TARGET_LINES = 100_000;
const ADMITTED_WORKERS = 4;
const BATCH_LINES = 64;
/** Lines sent before hello, one connection each, in a first phase of their own (they are slow under load). */
const PRE_HELLO_LINES = 3000;
const PRE_HELLO_WORKERS = 4;
const MIB = 1024 * 1024;
/** A connection the dispatcher should close that is still open after this has been left open: a deadline for a loaded machine, not a speed. */
const OPEN_TOO_LONG_MS = 60_000;

function queryMessage(commit: string | null): Message {
  return { type: 'query', commit, project: null } as Message;
}

const seed = process.env.KEEL_FUZZ_SEED !== undefined ? Number(process.env.KEEL_FUZZ_SEED) >>> 0 : (Math.random() * 2 ** 32) >>> 0;
const about = (what: string) => `${what} (replay with KEEL_FUZZ_SEED=${seed})`;

function collectGarbage(): () => void {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as (() => void) | undefined;
  return () => {
    gc?.();
    gc?.();
  };
}

/** A raw socket that counts the lines the dispatcher sends and remembers the first few. */
interface RawPeer {
  socket: Socket;
  replies: string[];
  replyCount: number;
  errorReplies: number;
  /** The last reply line (cut to 300 characters). */
  last: string;
  closed: Promise<void>;
  isClosed: () => boolean;
  /** Resolves once `count` reply lines have arrived, or the socket closed. */
  waitForReplies(count: number): Promise<void>;
  write(data: Buffer): Promise<boolean>;
}

function rawPeer(port: number): Promise<RawPeer> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    let pending = '';
    let ended = false;
    const waiters = new Set<() => void>();
    const peer: RawPeer = {
      socket,
      replies: [],
      replyCount: 0,
      errorReplies: 0,
      last: '',
      closed: new Promise((done) => socket.on('close', () => {
        ended = true;
        for (const wake of [...waiters]) wake();
        done();
      })),
      isClosed: () => ended,
      waitForReplies: (count) => new Promise((done) => {
        const check = () => {
          if (peer.replyCount >= count || ended) {
            waiters.delete(check);
            done();
          }
        };
        waiters.add(check);
        check();
      }),
      write: (data) => new Promise((done) => {
        if (ended || socket.destroyed) return done(false);
        socket.write(data, (error) => done(!error));
      }),
    };
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      const lines = (pending + chunk).split('\n');
      pending = lines.pop()!;
      for (const line of lines) {
        peer.replyCount += 1;
        if (line.startsWith('{"type":"error"')) peer.errorReplies += 1;
        if (peer.replies.length < 8) peer.replies.push(line.slice(0, 300));
        peer.last = line.slice(0, 300);
      }
      for (const wake of [...waiters]) wake();
    });
    socket.on('error', () => {});
    socket.once('connect', () => resolve(peer));
    socket.once('error', reject);
  });
}

/** True when the dispatcher would admit this line as a hello (we must not send those before hello). */
function isHello(line: Buffer): boolean {
  try {
    return decode(line[line.length - 1] === 0x0d ? line.subarray(0, -1) : line).type === 'hello';
  } catch {
    return false;
  }
}

async function fuzzDispatcher(t: TestContext) {
  const results = tempDir(t, 'keel-fuzz-results-');
  const state = tempDir(t, 'keel-fuzz-state-');
  let logLines = 0;
  const lastLog: string[] = [];
  const config = parseDispatcherConfig([
    '--port', '0', '--results', results, '--state', state,
    '--max-errors', '1000000', '--max-pending', '1000', '--hello-timeout', '5', '--deadline', '3600',
  ], {});
  const running = await startDispatcher(config, (line) => {
    logLines += 1;
    lastLog.push(line.slice(0, 300));
    if (lastLog.length > 20) lastLog.shift();
  });
  const peers: TestPeer[] = [];
  t.after(async () => {
    for (const peer of peers) peer.close();
    await running.close();
  });
  const as = async (role: 'runner' | 'observer' | 'client', name: string) => {
    const peer = await TestPeer.as(running.port, role, name);
    peers.push(peer);
    return peer;
  };
  const observer = async (repo: string) => {
    const peer = await TestPeer.observer(running.port, repo, { name: 'fuzz-observer' });
    peers.push(peer);
    return peer;
  };
  return { port: running.port, results, state, as, observer, log: () => ({ lines: logLines, last: lastLog }) };
}

test('100,000 hostile lines: no crash, bounded memory, and a good commit still gets built', { timeout: 120_000 }, async (t) => {
  t.diagnostic(`KEEL_FUZZ_SEED=${seed}`);
  const uncaught: Error[] = [];
  const onUncaught = (error: Error) => uncaught.push(error);
  process.on('uncaughtException', onUncaught);
  t.after(() => process.off('uncaughtException', onUncaught));
  const gc = collectGarbage();

  const d = await fuzzDispatcher(t);
  const repo = makeRepo(t);
  const SHA = commitFiles(repo, { 'README.md': 'fuzzed\n' }, 'the commit built mid-fuzz');
  const goodName = `good-${seed.toString(16)}-runner`;
  // 256 slots, registered first: the scheduler prefers it over any fuzzed register.
  const runner = await d.as('runner', goodName);
  runner.send({ type: 'register', name: goodName, slots: 256, labels: [], leases: [] });
  await runner.next('registered');
  runner.answerPings();
  const observer = await d.observer(repo);

  gc();
  const heapBefore = process.memoryUsage().heapUsed;
  const started = Date.now();

  let written = 0;
  let admittedLines = 0;
  let admittedErrors = 0;
  let connections = 0;
  let oversized = 0;
  let tooLongSeen = 0;
  let preHelloLines = 0;
  const failures: string[] = [];
  const fail = (what: string) => {
    if (failures.length < 20) failures.push(what);
  };

  // Before hello: one bad line, then a valid hello that must never be answered.
  const preHello = async (fuzz: LineFuzzer, stop: () => boolean) => {
    while (!stop()) {
      let line = fuzz.next();
      while (line.length === 0 || (line.length === 1 && line[0] === 0x0d) || isHello(line)) line = fuzz.next();
      const peer = await rawPeer(d.port);
      connections += 1;
      const hello = Buffer.from(`${JSON.stringify({ type: 'hello', version: 1, role: 'client', name: 'late' })}\n`);
      if (await peer.write(Buffer.concat([line, Buffer.from('\n')]))) {
        written += 1;
        preHelloLines += 1;
      }
      void peer.write(hello);
      const timer = setTimeout(() => {
        fail(`before hello, ${JSON.stringify(line.toString('latin1').slice(0, 120))} left the connection open for ${OPEN_TOO_LONG_MS / 1000} s`);
        peer.socket.destroy();
      }, OPEN_TOO_LONG_MS);
      await peer.closed;
      clearTimeout(timer);
      const shown = JSON.stringify(line.toString('latin1').slice(0, 120));
      if (peer.replyCount !== 1 || !peer.replies[0]?.startsWith('{"type":"error"')) {
        fail(`before hello, ${shown} got ${JSON.stringify(peer.replies)} instead of one error`);
      }
      if (peer.replies.some((r) => r.includes('"welcome"'))) fail(`before hello, ${shown} did not close the connection`);
    }
  };

  // Admitted as runner or client: thousands of lines per connection, then reconnect.
  const admitted = async (fuzz: LineFuzzer, stop: () => boolean) => {
    while (!stop()) {
      const role = fuzz.chance(0.5) ? 'runner' : 'client';
      const peer = await rawPeer(d.port);
      connections += 1;
      await peer.write(Buffer.from(`${JSON.stringify({ type: 'hello', version: 1, role, name: `fuzz-${role}` })}\n`));
      await peer.waitForReplies(1);
      if (!peer.replies[0]?.startsWith('{"type":"welcome"')) {
        fail(`hello as ${role} got ${JSON.stringify(peer.replies)}`);
        peer.socket.destroy();
        continue;
      }
      const budget = 1000 + fuzz.int(5000);
      let sent = 0;
      while (sent < budget && !stop() && !peer.isClosed()) {
        const batch: Buffer[] = [];
        for (let i = 0; i < BATCH_LINES; i++) batch.push(fuzz.next(), Buffer.from('\n'));
        if (!(await peer.write(Buffer.concat(batch)))) break;
        sent += BATCH_LINES;
        written += BATCH_LINES;
        admittedLines += BATCH_LINES;
      }
      if (peer.isClosed()) {
        // A fuzzed register may legitimately replace another fuzz runner of the same name (closed without an error);
        // closing after an error is what the policy forbids below --max-errors.
        if (peer.last.startsWith('{"type":"error"')) fail(`an admitted ${role} was closed after ${sent} lines: ${peer.last}`);
      } else if (fuzz.chance(0.3)) {
        // End with a line past the cap: refused and closed even for an admitted peer.
        oversized += 1;
        await peer.write(Buffer.concat([fuzz.oversize(MIB + 10), Buffer.from('\n')]));
        const timer = setTimeout(() => {
          fail(`a line past the cap left the connection open for ${OPEN_TOO_LONG_MS / 1000} s`);
          peer.socket.destroy();
        }, OPEN_TOO_LONG_MS);
        await peer.closed;
        clearTimeout(timer);
        // Under load the dispatcher may drop its unsent replies when it gives up on the socket after 1 s; the close is what counts.
        if (peer.last.includes('"line-too-long"')) tooLongSeen += 1;
      } else {
        peer.socket.end();
        await peer.closed;
      }
      admittedErrors += peer.errorReplies;
    }
  };

  // Halfway through, the observer submits a real commit and the good runner builds it.
  const build = (async () => {
    await waitFor(() => written >= TARGET_LINES / 2 || uncaught.length > 0, 'half the fuzz lines', 60_000);
    if (uncaught.length > 0) return;
    observer.send({ type: 'commit', commit: SHA, ref: 'refs/heads/main' });
    assert.equal((await observer.next('queued', 30_000)).commit, SHA, about('the commit is queued'));
    const job = await runner.next('job', 30_000);
    assert.equal(job.commit, SHA, about('the good runner gets the job'));
    runner.send({ type: 'output', lease: job.lease, stream: 'stdout', data: 'fuzz-survivor output\n' });
    runner.send({ type: 'result', lease: job.lease, outcome: { ...fullOutcome, status: 'passed', exitCode: 0, message: '', command: ['true'] } });
    assert.deepEqual(await runner.next('recorded', 30_000), { type: 'recorded', lease: job.lease, accepted: true }, about('the result is recorded'));
  })();

  // Stop early once the dispatcher has thrown: the test has failed, and the seed says how to replay it.
  const stop = () => written >= TARGET_LINES || uncaught.length > 0;
  await Promise.all(Array.from({ length: PRE_HELLO_WORKERS }, (_, i) => preHello(new LineFuzzer((seed ^ 0x5eed) + i), () => preHelloLines >= PRE_HELLO_LINES || uncaught.length > 0)));
  const preHelloMs = Date.now() - started;
  await Promise.all([
    preHello(new LineFuzzer((seed ^ 0xbad) >>> 0), stop),
    ...Array.from({ length: ADMITTED_WORKERS }, (_, i) => admitted(new LineFuzzer((seed + i + 1) >>> 0), stop)),
    build,
  ]);
  const elapsed = Date.now() - started;
  assert.deepEqual(uncaught.map((e) => e.stack ?? String(e)), [], about('the dispatcher threw'));

  await waitFor(() => existsSync(join(d.results, SHA)), about('the result file'), 30_000);
  const client = await d.as('client', 'fuzz-checker');
  client.send(queryMessage(SHA));
  const status = await client.next('status', 30_000);
  assert.equal(status.builds[0]?.status, 'passed', about('the dispatcher still answers and knows the build'));
  const files = readdirSync(d.results).sort();
  assert.deepEqual(files.filter((file) => file !== `${SHA}.tests.junit.xml`), [SHA, `${SHA}.json`, `${SHA}.log`].sort(), about('only the good commit has result files'));

  gc();
  const growth = process.memoryUsage().heapUsed - heapBefore;
  const log = d.log();
  t.diagnostic(`${written} lines (${admittedLines} admitted, ${admittedErrors} error replies) over ${connections} connections (${preHelloLines} lines before hello, first ${preHelloMs} ms), ${oversized} oversized (${tooLongSeen} saw line-too-long), in ${elapsed} ms; heap +${(growth / MIB).toFixed(1)} MiB; ${log.lines} log lines`);

  assert.deepEqual(uncaught.map((e) => e.stack ?? String(e)), [], about('the dispatcher threw'));
  assert.deepEqual(failures, [], about('the dispatcher broke the bad-line policy'));
  assert.ok(written >= TARGET_LINES, about(`only ${written} lines were written`));
  assert.ok(admittedErrors >= admittedLines * 0.5, about(`only ${admittedErrors} error replies for ${admittedLines} admitted lines`));
  assert.ok(growth < 64 * MIB, about(`heap grew by ${(growth / MIB).toFixed(1)} MiB`));
});

test('a deeply nested value is refused with an error, not a crash, before and after hello', async (t) => {
  const uncaught: Error[] = [];
  const onUncaught = (error: Error) => uncaught.push(error);
  process.on('uncaughtException', onUncaught);
  t.after(() => process.off('uncaughtException', onUncaught));
  const d = await fuzzDispatcher(t);
  const deep = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;

  const stranger = await rawPeer(d.port);
  await stranger.write(Buffer.from(`${deep(20_000)}\n`));
  await stranger.closed;
  assert.match(stranger.replies[0] ?? '', /"code":"not-an-object"/, 'a nested array before hello gets not-an-object');

  const client = await rawPeer(d.port);
  await client.write(Buffer.from(`${JSON.stringify({ type: 'hello', version: 1, role: 'client', name: 'deep' })}\n`));
  await client.waitForReplies(1);
  await client.write(Buffer.from(`{"type":"query","commit":${deep(20_000)}}\n{"type":"query","commit":null,"project":null}\n`));
  await client.waitForReplies(3);
  assert.match(client.replies[1] ?? '', /"code":"bad-field"/, `a nested field gets bad-field: ${client.replies[1]}`);
  assert.match(client.replies[2] ?? '', /"type":"status"/, 'and the peer is still served');
  client.socket.destroy();
  assert.deepEqual(uncaught.map((e) => e.message), [], 'the dispatcher threw');
});
