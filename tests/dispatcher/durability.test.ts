// The dispatcher's journal across restarts, in-process on real sockets: what
// was queued stays queued, a running job waits for its runner to reclaim it,
// and a result that cannot be written is kept and retried.
import { strict as assert } from 'node:assert';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import type { DispatcherConfig } from '../../src/dispatcher/config.js';
import type { RunOutcome } from '../../src/protocol/records.js';
import { inProcess, REF } from '../helpers/in-process.js';
import type { TestPeer } from '../helpers/peer.js';
import { waitFor } from '../helpers/temp.js';

const SHA = ['1', '2', '3', '4'].map((c) => c.repeat(40));
const REPO = '/srv/git/project.git';

const passed: RunOutcome = {
  status: 'passed', exitCode: 0, signal: null, timedOut: false, startedAt: new Date().toISOString(),
  durationMs: 5, command: ['./tests/run.sh'], message: '', counts: null,
  infra: false, cancelled: false, failedTests: [], junit: null,
};

/** A dispatcher on fixed folders that can be stopped and started again, with what these tests look at. */
function harness(t: TestContext, overrides: Partial<DispatcherConfig> = {}) {
  const h = inProcess(t, { repo: REPO, overrides });
  const record = (sha: string) => JSON.parse(readFileSync(join(h.results, `${sha}.json`), 'utf8'));
  const done = (sha: string) => waitFor(() => existsSync(join(h.results, sha)), `the result of ${sha}`);
  /** A folder where the report of `sha` should go makes its rename fail; returns the function that clears it. */
  const blockReport = (sha: string) => {
    const blocker = join(h.results, sha);
    mkdirSync(blocker);
    writeFileSync(join(blocker, 'in-the-way'), '');
    return () => rmSync(blocker, { recursive: true });
  };
  /** Runs the first job the runner gets to a passed result, recorded. */
  const pass = (runner: TestPeer) => h.finish(runner, passed);
  return { ...h, record, done, blockReport, pass };
}

test('after a restart, queued work is still queued and a reclaimed job is not re-run', async (t) => {
  const h = harness(t);
  await h.start();
  const runner = await h.runner('r1');
  for (const sha of SHA) await h.commit(sha);
  const job = await runner.next('job');
  assert.equal(job.commit, SHA[0]);
  await h.stop(); // the journal is all there is; nothing is saved at stop

  await h.start();
  assert.ok(h.lines.some((line) => /replayed journal: 4 active build\(s\), 3 queued job\(s\), 1 running job\(s\) awaiting their runner/.test(line)), h.lines.join('\n'));
  const back = await h.runner('r1', [job.lease]);
  back.send({ type: 'result', lease: job.lease, outcome: passed });
  assert.deepEqual(await back.next('recorded'), { type: 'recorded', lease: job.lease, accepted: true });
  await h.done(SHA[0]!);
  assert.equal(h.record(SHA[0]!).attempts, 1, 'the reclaimed job was not run again');
  for (const sha of SHA.slice(1)) {
    const next = await back.next('job');
    assert.equal(next.commit, sha, 'the queue kept its order');
    back.send({ type: 'result', lease: next.lease, outcome: passed });
    await h.done(sha);
    assert.equal(h.record(sha).status, 'passed');
  }
  assert.equal((await h.commit(SHA[0]!)).duplicate, true, 'a finished commit is not taken again');
});

test('a running job nobody reclaims goes back to the queue after the deadline', async (t) => {
  const h = harness(t, { heartbeatMs: 50, deadlineMs: 300 });
  await h.start();
  const first = await h.runner('r1');
  await h.commit(SHA[0]!);
  const lost = await first.next('job');
  await h.stop();

  await h.start();
  const other = await h.runner('r2');
  const retry = await other.next('job', 10_000);
  assert.equal(retry.commit, SHA[0]);
  assert.equal(retry.attempt, 2);
  // The first runner is back too late: its result is refused.
  const late = await h.runner('r1', [lost.lease]);
  late.send({ type: 'result', lease: lost.lease, outcome: passed });
  assert.equal((await late.next('recorded')).accepted, false);
  other.send({ type: 'result', lease: retry.lease, outcome: passed });
  await h.done(SHA[0]!);
  const record = h.record(SHA[0]!);
  assert.equal(record.runner, 'r2');
  assert.deepEqual(record.jobs[0].attempts.map((a: { status: string }) => a.status), ['lost', 'passed']);
});

test('a runner that comes back without its job loses it at once', async (t) => {
  const h = harness(t);
  await h.start();
  const first = await h.runner('r1');
  await h.commit(SHA[0]!);
  const job = await first.next('job');
  first.close();
  // Reconnects under the same name before the dispatcher noticed, holding nothing.
  const again = await h.runner('r1', []);
  const retry = await again.next('job');
  assert.equal(retry.commit, SHA[0]);
  assert.equal(retry.attempt, 2);
  assert.notEqual(retry.lease, job.lease);
});

test('a draining runner gets no new jobs but its result still counts', async (t) => {
  const h = harness(t);
  await h.start();
  const draining = await h.runner('r1');
  await h.commit(SHA[0]!);
  const job = await draining.next('job');
  draining.send({ type: 'drain' });
  await waitFor(() => h.lines.some((line) => line.includes('runner r1 draining')), 'the drain');
  await h.commit(SHA[1]!);
  draining.send({ type: 'result', lease: job.lease, outcome: passed });
  assert.equal((await draining.next('recorded')).accepted, true);
  const fresh = await h.runner('r2');
  assert.equal((await fresh.next('job')).commit, SHA[1], 'the second commit waited for another runner');
  assert.equal(draining.received.filter((m) => m.type === 'job').length, 0);
});

test('a result that cannot be written is kept, shown as unwritten, and retried', async (t) => {
  const h = harness(t);
  await h.start();
  const unblock = h.blockReport(SHA[0]!);
  const runner = await h.runner('r1');
  await h.commit(SHA[0]!);
  await h.pass(runner);
  await waitFor(() => h.lines.some((line) => line.includes(`could not write the result of ${SHA[0]}`)), 'the failed write');
  const client = await h.peer('client');
  client.send({ type: 'query', commit: null, project: null });
  assert.deepEqual((await client.next('status')).unwritten, [SHA[0]]);

  // Restarting does not lose it either.
  await h.stop();
  await h.start();
  unblock();
  await h.done(SHA[0]!);
  assert.equal(h.record(SHA[0]!).status, 'passed');
  const after = await h.peer('client');
  after.send({ type: 'query', commit: null, project: null });
  await waitFor(async () => {
    after.send({ type: 'query', commit: null, project: null });
    return (await after.next('status')).unwritten.length === 0;
  }, 'the unwritten list to empty');
});

test('results that cannot be written hold back new jobs past --max-unwritten, and jobs start again once they are written', async (t) => {
  const h = harness(t, { maxUnwritten: 1 });
  await h.start();
  const unblock = h.blockReport(SHA[0]!);
  const runner = await h.runner('r1');
  await h.commit(SHA[0]!);
  await h.commit(SHA[1]!);
  await h.pass(runner);
  await waitFor(() => h.lines.some((line) => line.includes('1 finished builds are waiting for their result files to be written (--max-unwritten)')), 'the hold-back', 10_000);
  const client = await h.peer('client');
  client.send({ type: 'query', commit: SHA[1]!, project: null });
  const waiting = (await client.next('status')).builds[0];
  assert.equal(waiting?.status, 'queued', 'the second build waits while the first result is unwritten');
  assert.equal(waiting?.note, 'waiting for disk: 1 finished builds\' result files are not written yet (--max-unwritten)', 'and says so');
  assert.equal(runner.received.filter((m) => m.type === 'job').length, 0, 'no second job was sent');

  unblock();
  const second = await runner.next('job');
  assert.equal(second.commit, SHA[1]);
  assert.ok(h.lines.some((line) => line.includes('results left to write: new jobs start again')), h.lines.join('\n'));
  runner.send({ type: 'result', lease: second.lease, outcome: passed });
  await h.done(SHA[1]!);
  assert.equal(h.record(SHA[0]!).status, 'passed');
});

test('the journal is compacted into a snapshot and replays the same state', async (t) => {
  const h = harness(t);
  await h.start();
  const observer = await h.observer();
  const shas = Array.from({ length: 1100 }, (_, i) => i.toString(16).padStart(40, '0'));
  for (const sha of shas) observer.send({ type: 'commit', commit: sha, ref: REF });
  for (let i = 0; i < shas.length; i++) await observer.next('queued');
  await waitFor(() => existsSync(join(h.state, 'dispatcher.snapshot.json')), 'the snapshot');
  await h.stop();
  const journalLines = readFileSync(join(h.state, 'dispatcher.journal'), 'utf8').split('\n').filter(Boolean).length;
  assert.ok(journalLines < 1100, `the journal was truncated (${journalLines} records left)`);
  await h.start();
  const client = await h.peer('client');
  client.send({ type: 'query', commit: null, project: null });
  assert.equal((await client.next('status')).queued, 1100, 'every commit is still queued');
});

test('a retry of a build whose files cannot be written, finishing unwritten again: queries answer and a restart replays (issue 11.2)', async (t) => {
  const h = harness(t);
  await h.start();
  let unblock = h.blockReport(SHA[0]!);
  const runner = await h.runner('r1');
  await h.commit(SHA[0]!);
  await h.pass(runner);
  await waitFor(() => h.lines.some((line) => line.includes(`could not write the result of ${SHA[0]}`)), 'the failed write');

  const admin = await h.peer('admin', 'owner');
  admin.send({ type: 'retry', commit: SHA[0]!, project: null, job: null });
  assert.deepEqual(await admin.next('done'), { type: 'done', ok: true, code: null, message: `retrying ${SHA[0]}`, request: null });
  unblock();
  unblock = h.blockReport(SHA[0]!);
  await h.pass(runner);

  const client = await h.peer('client');
  client.send({ type: 'query', commit: null, project: null });
  const overview = await client.next('status');
  assert.deepEqual(overview.unwritten, [SHA[0]]);
  assert.deepEqual(overview.builds.map((build) => [build.commit, build.status, build.run]), [[SHA[0], 'passed', 2]]);
  client.send({ type: 'query', commit: SHA[0]!, project: null });
  assert.equal((await client.next('status')).record?.run, 2);

  await h.stop();
  await h.start();
  const after = await h.peer('client');
  after.send({ type: 'query', commit: SHA[0]!, project: null });
  const replayed = (await after.next('status')).record;
  assert.equal(replayed?.status, 'passed');
  assert.equal(replayed?.run, 2);
  unblock();
  await h.done(SHA[0]!);
  const record = h.record(SHA[0]!);
  assert.equal(record.run, 2);
  assert.equal(record.jobs[0].attempts.length, 2, 'both runs are on record');
});

test('retry and cancel answer with a code in every state they can meet', async (t) => {
  const h = harness(t);
  await h.start();
  const admin = await h.peer('admin', 'owner');
  const ask = async (message: { type: 'cancel' | 'retry'; commit: string }) => {
    admin.send(message.type === 'retry' ? { type: 'retry', commit: message.commit, project: null, job: null } : { type: 'cancel', commit: message.commit, project: null });
    const done = await admin.next('done');
    return done.ok ? 'ok' : done.code;
  };
  assert.equal(await ask({ type: 'retry', commit: SHA[0]! }), 'unknown-build');
  assert.equal(await ask({ type: 'cancel', commit: SHA[0]! }), 'unknown-build');
  await h.commit(SHA[0]!);
  assert.equal(await ask({ type: 'retry', commit: SHA[0]! }), 'not-finished', 'queued');
  const runner = await h.runner('r1');
  await runner.next('job');
  assert.equal(await ask({ type: 'retry', commit: SHA[0]! }), 'not-finished', 'running');
  assert.equal(await ask({ type: 'cancel', commit: SHA[0]! }), 'ok', 'running');
  assert.equal((await runner.next('abort')).type, 'abort', 'the running job is aborted once the cancel is durable');
  assert.equal(await ask({ type: 'cancel', commit: SHA[0]! }), 'already-finished');
  await h.done(SHA[0]!);
  assert.equal(await ask({ type: 'retry', commit: SHA[0]! }), 'ok', 'finished and written: read back from its file');
  assert.equal(await ask({ type: 'cancel', commit: SHA[0]! }), 'ok', 'the retried run, queued');
});
