// The dispatcher in-process on a real socket (port 0), driven by hand-written
// runner, observer and client peers.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { parseDispatcherConfig, type DispatcherConfig } from '../../src/dispatcher/config.js';
import { startDispatcher } from '../../src/dispatcher/dispatcher.js';
import type { RunOutcome } from '../../src/protocol/records.js';
import { defaultJobs } from '../helpers/default-jobs.js';
import { TestPeer } from '../helpers/peer.js';
import { tempDir, waitFor } from '../helpers/temp.js';

const SHA_A = 'a'.repeat(40);
const SHA_B = 'b'.repeat(40);
const REPO = '/srv/git/project.git';
const REF = 'refs/heads/main';

async function dispatcher(t: TestContext, overrides: Partial<DispatcherConfig> = {}) {
  const results = tempDir(t);
  const state = tempDir(t);
  const lines: string[] = [];
  const config: DispatcherConfig = {
    ...parseDispatcherConfig(['--port', '0', '--results', results, '--state', state], {}),
    ...overrides,
  };
  const running = await startDispatcher(config, (line) => lines.push(line), defaultJobs);
  const peers: TestPeer[] = [];
  t.after(async () => {
    for (const peer of peers) peer.close();
    await running.close();
  });
  const as = async (role: 'runner' | 'observer' | 'client', name?: string) => {
    const peer = await TestPeer.as(running.port, role, name);
    peers.push(peer);
    return peer;
  };
  const runner = async (name: string, slots = 1) => {
    const peer = await as('runner', name);
    peer.send({ type: 'register', name, slots, labels: [], leases: [] });
    await peer.next('registered');
    return peer;
  };
  const raw = async () => {
    const peer = await TestPeer.connect(running.port);
    peers.push(peer);
    return peer;
  };
  const observer = async (options: { project?: string | null; name?: string } = {}) => {
    const peer = await TestPeer.observer(running.port, REPO, options);
    peers.push(peer);
    return peer;
  };
  return { port: running.port, results, lines, as, runner, raw, observer };
}

function outcome(status: RunOutcome['status'], exitCode: number | null = status === 'passed' ? 0 : 1): RunOutcome {
  return {
    status, exitCode, signal: null, timedOut: false, startedAt: new Date().toISOString(),
    durationMs: 12, command: ['node', '--test'], message: status === 'passed' ? '' : 'tests failed',
    counts: { tests: 2, passed: status === 'passed' ? 2 : 1, failed: status === 'passed' ? 0 : 1, skipped: 0 },
    infra: false, cancelled: false, failedTests: [], junit: null,
  };
}

function readJson(results: string, sha: string) {
  return JSON.parse(readFileSync(join(results, `${sha}.json`), 'utf8'));
}

test('a commit goes to a runner and ends with its three result files', async (t) => {
  const d = await dispatcher(t);
  const observer = await d.observer();
  observer.send({ type: 'commit', commit: SHA_A, ref: REF });
  assert.deepEqual(await observer.next('queued'), { type: 'queued', commit: SHA_A, duplicate: false });
  observer.send({ type: 'commit', commit: SHA_A, ref: REF });
  assert.equal((await observer.next('queued')).duplicate, true, 'the same commit is deduplicated');

  const runner = await d.runner('r1');
  const job = await runner.next('job');
  assert.equal(job.commit, SHA_A);
  assert.equal(job.repo, REPO);
  assert.equal(job.attempt, 1);
  runner.send({ type: 'output', lease: job.lease, stream: 'stdout', data: 'ok 1 - adds: with a colon\n' });
  await waitFor(() => existsSync(join(d.results, `${SHA_A}.log`)) && readFileSync(join(d.results, `${SHA_A}.log`), 'utf8').includes('with a colon'), 'live log');
  runner.send({ type: 'result', lease: job.lease, outcome: outcome('passed') });
  assert.deepEqual(await runner.next('recorded'), { type: 'recorded', lease: job.lease, accepted: true });

  await waitFor(() => existsSync(join(d.results, SHA_A)), 'the report');
  const record = readJson(d.results, SHA_A);
  assert.equal(record.status, 'passed');
  assert.equal(record.attempts, 1);
  assert.equal(record.runner, 'r1');
  assert.deepEqual(record.counts, { tests: 2, passed: 2, failed: 0, skipped: 0 });
  assert.equal(record.jobs.length, 1);
  assert.ok(record.startedAt && record.endedAt && typeof record.durationMs === 'number');
  const report = readFileSync(join(d.results, SHA_A), 'utf8');
  assert.match(report, /status: +PASSED/);
  assert.match(report, /with a colon/);
  assert.deepEqual(readdirSync(d.results).sort(), [SHA_A, `${SHA_A}.json`, `${SHA_A}.log`].sort(), 'no temp files left');

  const client = await d.as('client');
  client.send({ type: 'query', commit: SHA_A, project: null });
  const status = await client.next('status');
  assert.equal(status.builds[0]?.status, 'passed');
});

test('a failing result makes a failed build', async (t) => {
  const d = await dispatcher(t);
  const runner = await d.runner('r1');
  const observer = await d.observer();
  observer.send({ type: 'commit', commit: SHA_B, ref: REF });
  const job = await runner.next('job');
  runner.send({ type: 'result', lease: job.lease, outcome: outcome('failed') });
  await waitFor(() => existsSync(join(d.results, SHA_B)), 'the report');
  assert.equal(readJson(d.results, SHA_B).status, 'failed');
  assert.match(readFileSync(join(d.results, SHA_B), 'utf8'), /status: +FAILED/);
});

test('a runner whose connection closes has its job requeued at the front, and a stale result is refused', async (t) => {
  const d = await dispatcher(t);
  const observer = await d.observer();
  const first = await d.runner('r1');
  observer.send({ type: 'commit', commit: SHA_A, ref: REF });
  observer.send({ type: 'commit', commit: SHA_B, ref: REF });
  const lost = await first.next('job');
  assert.equal(lost.commit, SHA_A);
  first.close();

  const second = await d.runner('r2');
  const retry = await second.next('job');
  assert.equal(retry.commit, SHA_A, 'the requeued job goes before the one queued after it');
  assert.equal(retry.attempt, 2);
  assert.notEqual(retry.lease, lost.lease);

  // The first runner comes back and reports for its old lease: too late.
  const back = await d.runner('r1');
  back.send({ type: 'result', lease: lost.lease, outcome: outcome('failed') });
  assert.deepEqual(await back.next('recorded'), { type: 'recorded', lease: lost.lease, accepted: false });

  second.send({ type: 'result', lease: retry.lease, outcome: outcome('passed') });
  await waitFor(() => existsSync(join(d.results, SHA_A)), 'the report');
  const record = readJson(d.results, SHA_A);
  assert.equal(record.status, 'passed');
  assert.equal(record.attempts, 2);
  assert.deepEqual(record.jobs[0].attempts.map((a: { status: string }) => a.status), ['lost', 'passed']);
});

test('a runner that stops answering pings is declared lost and its job requeued', async (t) => {
  const d = await dispatcher(t, { heartbeatMs: 50, deadlineMs: 300 });
  const observer = await d.observer();
  const silent = await d.runner('silent');
  observer.send({ type: 'commit', commit: SHA_A, ref: REF });
  await silent.next('job');
  silent.socket.pause(); // reads nothing, answers nothing: like a frozen host
  const healthy = (await d.runner('healthy')).answerPings();
  const job = await healthy.next('job', 10_000);
  assert.equal(job.commit, SHA_A);
  assert.equal(job.attempt, 2);
  assert.ok(d.lines.some((line) => /runner silent lost: .*silent for \d+ ms/.test(line)), d.lines.join('\n'));
});

test('after three lost runners the commit ends as error', async (t) => {
  const d = await dispatcher(t);
  const observer = await d.observer();
  observer.send({ type: 'commit', commit: SHA_A, ref: REF });
  for (let i = 1; i <= 3; i++) {
    const runner = await d.runner(`r${i}`);
    const job = await runner.next('job');
    assert.equal(job.attempt, i);
    runner.close();
  }
  await waitFor(() => existsSync(join(d.results, SHA_A)), 'the report');
  const record = readJson(d.results, SHA_A);
  assert.equal(record.status, 'error');
  assert.equal(record.attempts, 3);
  assert.match(record.message, /runner lost or failing 3 times/);
});

test('hostile input before hello gets an error and a closed connection; everyone else is still served', async (t) => {
  const d = await dispatcher(t);
  const observer = await d.observer();
  const cases: Array<{ what: string; lines: Array<string | Buffer>; code: string }> = [
    { what: 'garbage', lines: ['this is not json\n'], code: 'bad-json' },
    { what: 'invalid UTF-8', lines: [Buffer.from([0x7b, 0xff, 0xfe, 0x7d, 0x0a])], code: 'bad-utf8' },
    { what: 'a 10 MB line', lines: [Buffer.alloc(10 * 1024 * 1024, 0x61)], code: 'line-too-long' },
    { what: 'an unknown type', lines: ['{"type":"launch-missiles"}\n'], code: 'unknown-type' },
    { what: 'a message before hello', lines: [`{"type":"commit","commit":"${SHA_A}","ref":"${REF}"}\n`], code: 'unexpected' },
    { what: 'a wrong version', lines: ['{"type":"hello","version":99,"role":"runner","name":"x"}\n'], code: 'version-mismatch' },
  ];
  for (const c of cases) {
    const peer = await d.raw();
    for (const line of c.lines) peer.sendRaw(line);
    const error = await peer.next('error');
    assert.equal(error.code, c.code, c.what);
    await peer.closed;
  }
  // A peer that vanishes mid-message.
  const vanishing = await d.raw();
  vanishing.sendRaw('{"type":"hel');
  vanishing.close();

  observer.send({ type: 'commit', commit: SHA_B, ref: REF });
  assert.equal((await observer.next('queued')).commit, SHA_B, 'the well-behaved observer is still served');
  assert.deepEqual(readdirSync(d.results), [], 'no bad input wrote a file');
  assert.equal(d.lines.filter((line) => line.includes('bad line')).length, 4, 'each bad line is logged once');
});

test('an admitted peer gets an error for each bad message, nothing is acted on, and too many close it', async (t) => {
  const d = await dispatcher(t, { maxErrors: 8 });
  const observer = await d.observer();
  const bad: Array<{ what: string; line: string; code: string }> = [
    { what: 'a missing field', line: `{"type":"commit","commit":"${SHA_A}"}`, code: 'bad-field' },
    { what: 'a short commit id', line: `{"type":"commit","commit":"abc123","repo":"${REPO}","ref":"${REF}"}`, code: 'bad-field' },
    { what: 'a path as commit id', line: `{"type":"commit","commit":"../../../../tmp/x","repo":"${REPO}","ref":"${REF}"}`, code: 'bad-field' },
    { what: 'a shell command as commit id', line: `{"type":"commit","commit":"HEAD;touch X","repo":"${REPO}","ref":"${REF}"}`, code: 'bad-field' },
    { what: 'a bad ref', line: `{"type":"commit","commit":"${SHA_A}","repo":"${REPO}","ref":"refs/heads/a..b"}`, code: 'bad-field' },
    { what: 'an option as ref', line: `{"type":"commit","commit":"${SHA_A}","repo":"${REPO}","ref":"--upload-pack=touch /tmp/x"}`, code: 'bad-field' },
    { what: 'an ext:: url', line: '{"type":"observe","project":null,"repo":"ext::sh -c touch% /tmp/pwned","supersede":false}', code: 'bad-field' },
    { what: 'a message outside the role', line: '{"type":"register","name":"x","slots":1,"labels":[],"leases":[]}', code: 'not-allowed' },
  ];
  for (const c of bad) {
    observer.sendRaw(`${c.line}\n`);
    assert.equal((await observer.next('error')).code, c.code, c.what);
  }
  observer.send({ type: 'commit', commit: SHA_B, ref: REF });
  assert.deepEqual(await observer.next('queued'), { type: 'queued', commit: SHA_B, duplicate: false }, 'still served after 8 errors');
  const client = await d.as('client');
  client.send({ type: 'query', commit: SHA_A, project: null });
  assert.deepEqual((await client.next('status')).builds, [], 'no bad commit was queued');
  observer.sendRaw('nonsense\n');
  assert.equal((await observer.next('error')).code, 'bad-json');
  await observer.closed;
  assert.ok(d.lines.some((line) => line.includes('refused observer')), d.lines.join('\n'));
});

test('a connection that never says hello is closed after the deadline', async (t) => {
  const d = await dispatcher(t, { helloTimeoutMs: 100 });
  const peer = await d.raw();
  const error = await peer.next('error');
  assert.equal(error.code, 'hello-timeout');
  await peer.closed;
});

test('status without a commit lists runners, builds and the queue', async (t) => {
  const d = await dispatcher(t);
  const observer = await d.observer();
  observer.send({ type: 'commit', commit: SHA_A, ref: REF });
  await observer.next('queued');
  await d.runner('r1', 2);
  const client = await d.as('client');
  client.send({ type: 'query', commit: null, project: null });
  const status = await client.next('status');
  assert.equal(status.runners.length, 1);
  assert.equal(status.runners[0]!.slots, 2);
  assert.deepEqual(status.runners[0]!.running, [SHA_A]);
  assert.equal(status.builds[0]!.status, 'running');
  client.send({ type: 'query', commit: SHA_B, project: null });
  assert.deepEqual((await client.next('status')).builds, [], 'an unknown commit has no build');
});

test('notify asks every connected observer to scan now', async (t) => {
  const d = await dispatcher(t);
  const observers = [await d.observer({ project: 'p1', name: 'o1' }), await d.observer({ project: 'p2', name: 'o2' })];
  const runner = await d.runner('r1');
  const client = await d.as('client');
  client.send({ type: 'notify' });
  assert.deepEqual(await client.next('notified'), { type: 'notified', observers: 2 });
  for (const observer of observers) assert.deepEqual(await observer.next('scan'), { type: 'scan' });
  assert.equal(runner.received.some((m) => m.type === 'scan'), false, 'runners are not asked');
});
