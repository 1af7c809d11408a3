// "Nothing lost": the real processes on real repositories, with faults
// injected — SIGKILL, SIGSTOP/SIGCONT, SIGTERM, a torn journal. Waits are on
// the dispatcher's `status`, on files (results, a runner's spooled results,
// an observer's cursor, the scripts' control files) or on a protocol reply,
// never on a fixed sleep; the few log waits left say why. The tests' own
// scripts block on a release file, so the test decides when a "running" test
// ends.
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { gone, runEntry, world } from '../helpers/e2e.js';
import { connectObserver } from '../helpers/e2e-wire.js';
import { commitFiles, git } from '../helpers/git-repo.js';
import { stopAtEnd } from '../helpers/temp.js';

const RUNNER = fileURLToPath(new URL('../../dist/runner/main.js', import.meta.url));

/** Heartbeats where they do not matter: a deadline long enough for a runner to reconnect after a restart. */
const SLOW_BEATS = ['--heartbeat', '0.5', '--deadline', '10'];
/** Heartbeats where they matter: a silent runner is lost within 1.5 s. */
const FAST_BEATS = ['--heartbeat', '0.25', '--deadline', '1.5'];

type Attempts = Array<{ status: string; runner: string }>;
const attemptsOf = (record: { jobs: Array<{ attempts: Attempts }> }) => record.jobs[0]!.attempts.map((a) => [a.status, a.runner]);

test('dispatcher SIGKILLed with 3 queued and 1 running: after a restart all 4 pass once, the running one re-claimed (attempts 1)', async (t) => {
  const w = world(t);
  const names = ['a', 'b', 'c', 'd'];
  const shas = names.map((name) => commitFiles(w.work, { 'tests/run.sh': w.scripts.blocking(name) }, `blocking ${name}`));
  git(w.work, 'push', '-q', 'origin', 'main');
  const [running, ...queued] = shas as [string, ...string[]];

  const first = await w.dispatcher({ extra: SLOW_BEATS });
  await w.runner('r1', first);
  const observer = await connectObserver(t, first.port, { repo: w.central });
  assert.equal((await observer.report(running)).duplicate, false);
  await first.waitForAttempt(running, 1, 'r1');
  await w.scripts.started('a');
  for (const sha of queued) assert.equal((await observer.report(sha)).duplicate, false, `${sha} is new`);

  await w.stop(first, 'SIGKILL');
  const second = await w.dispatcher({ port: first.port, extra: SLOW_BEATS });
  await second.waitForRunner('r1');
  w.scripts.release();

  const records = [];
  for (const sha of shas) records.push(await w.result(sha));
  // A clean stop lets any second write of a result happen before the count.
  await w.stop(second);

  for (const [i, record] of records.entries()) {
    assert.equal(record.status, 'passed', `${shas[i]} passed\n${w.logs()}`);
    assert.equal(record.attempts, 1, `${shas[i]} ran once\n${w.logs()}`);
    assert.deepEqual(w.scripts.runs(names[i]!), [shas[i]], `the test of ${shas[i]} was started once\n${w.logs()}`);
  }
  const [reclaimed] = records;
  assert.equal(reclaimed.runner, 'r1');
  assert.deepEqual(attemptsOf(reclaimed), [['passed', 'r1']], `the running job was re-bound to r1, not requeued\n${w.logs()}`);
  // Log kept: the dispatcher's log is the only record of how many times it wrote a result file.
  const dispatcherLines = [...first.lines, ...second.lines];
  for (const sha of shas) {
    const writes = dispatcherLines.filter((line) => new RegExp(`wrote \\S*/${sha}$`).test(line)).length;
    assert.equal(writes, 1, `the result of ${sha} was written exactly once\n${w.logs()}`);
  }
});

/** A job running on r1 when its dispatcher is SIGKILLed, finished meanwhile: its result is in the runner's spool. */
async function finishedWhileDispatcherIsDown(t: TestContext) {
  const w = world(t);
  const sha = w.push({ 'tests/run.sh': w.scripts.blocking('a') }, 'blocking');
  const first = await w.dispatcher({ extra: SLOW_BEATS });
  const runner = await w.runner('r1', first);
  const observer = await connectObserver(t, first.port, { repo: w.central });
  assert.equal((await observer.report(sha)).duplicate, false);
  await first.waitForAttempt(sha, 1, 'r1');
  await w.scripts.started('a');
  await w.stop(first, 'SIGKILL');
  w.scripts.release();
  assert.equal((await w.spooled(runner)).outcome.status, 'passed', w.logs());
  return { w, sha, first, runner };
}

test('dispatcher SIGKILLed mid-test: the runner finishes while it is down, spools, and delivers after the restart (attempts 1)', async (t) => {
  const { w, sha, first, runner } = await finishedWhileDispatcherIsDown(t);
  assert.equal(runner.child.exitCode, null, `the runner keeps going without a dispatcher\n${w.logs()}`);
  assert.equal(existsSync(join(w.results, sha)), false, 'no result yet: nobody has recorded it');

  const second = await w.dispatcher({ port: first.port, extra: SLOW_BEATS });
  const record = await w.result(sha);
  assert.equal(record.status, 'passed', w.logs());
  assert.equal(record.attempts, 1, `the spooled result was accepted, not the job re-run\n${w.logs()}`);
  assert.equal(record.runner, 'r1');
  assert.equal(record.jobs[0].attempts.length, 1, w.logs());
  // Log kept: a result dropped as stale shows nowhere else (the runner only hears `accepted: false`).
  assert.equal(second.count(/dropped a result for stale lease/), 0, w.logs());
  assert.deepEqual(w.scripts.runs('a'), [sha], `ran once\n${w.logs()}`);
});

test('a SIGSTOPped runner is lost after the deadline; the job passes on the other runner; its late result is dropped as stale', async (t) => {
  const w = world(t);
  // The first run blocks until released and then fails; any later run passes at once.
  const script = [
    '#!/bin/sh',
    ...w.scripts.recordRun('flip'),
    `if mkdir '${w.control}/first-run' 2>/dev/null; then`,
    `  echo $$ > '${w.control}/started-first'`,
    `  while [ ! -e '${w.control}/release' ]; do sleep 0.05; done`,
    '  echo late first run; exit 1',
    'fi',
    'echo second run',
    '',
  ].join('\n');
  const sha = w.push({ 'tests/run.sh': script }, 'first run blocks');

  const dispatcher = await w.dispatcher({ extra: FAST_BEATS });
  const runners = { r1: w.startRunner('r1', dispatcher), r2: w.startRunner('r2', dispatcher) };
  await dispatcher.waitForRunner('r1');
  await dispatcher.waitForRunner('r2');
  const observer = await connectObserver(t, dispatcher.port, { repo: w.central });
  assert.equal((await observer.report(sha)).duplicate, false);
  const victimName = (await dispatcher.waitForAttempt(sha, 1)).runner as 'r1' | 'r2';
  const otherName = victimName === 'r1' ? 'r2' : 'r1';
  const victim = runners[victimName];
  await w.scripts.started('first');

  victim.child.kill('SIGSTOP');
  await dispatcher.waitForRunnerGone(victimName);
  await dispatcher.waitForAttempt(sha, 2, otherName);
  const record = await w.result(sha);
  const expectAttempt2 = (r: typeof record, when: string) => {
    assert.equal(r.status, 'passed', `${when}\n${w.logs()}`);
    assert.equal(r.attempts, 2, `${when}\n${w.logs()}`);
    assert.equal(r.runner, otherName, `${when}\n${w.logs()}`);
    assert.deepEqual(attemptsOf(r), [['lost', victimName], ['passed', otherName]], `${when}\n${w.logs()}`);
  };
  expectAttempt2(record, 'after attempt 2');

  victim.child.kill('SIGCONT');
  w.scripts.release();
  // Log kept: the dispatcher dropping a stale result shows nowhere else; what it drops is the point here.
  const [, staleLease] = await dispatcher.waitForLine(/dropped a result for stale lease (\S+)/);
  assert.equal(staleLease, record.jobs[0].attempts[0].lease, 'the dropped result is the lost attempt\'s');
  // The late runner heard the answer: it forgets the result it kept on disk.
  await w.unspooled(victim, staleLease!);
  expectAttempt2(w.readResult(sha), 'after the late result');
  assert.equal(victim.child.exitCode, null, `the late runner is still alive\n${w.logs()}`);
});

test('observer SIGKILLed and restarted on the same --state: commits pushed meanwhile are all tested, none reported twice', async (t) => {
  const w = world(t);
  const first = w.push({ 'tests/run.sh': w.scripts.passing() }, 'passing test');
  w.cloneFor();

  const dispatcher = await w.dispatcher();
  await w.runner('r1', dispatcher);
  const before = w.observer(dispatcher);
  await w.result(first);
  const c1 = w.push({ 'one.txt': '1\n' }, 'one');
  await before.delivered(c1);
  await w.stop(before, 'SIGKILL');

  const c2 = w.push({ 'two.txt': '2\n' }, 'two');
  const c3 = w.push({ 'three.txt': '3\n' }, 'three');
  git(w.work, 'checkout', '-q', '-b', 'feature');
  const c4 = w.push({ 'four.txt': '4\n' }, 'four on a new branch', { branch: 'feature' });
  const after = w.observer(dispatcher);
  const all = [first, c1, c2, c3, c4];
  for (const sha of all) {
    const record = await w.result(sha);
    assert.equal(record.status, 'passed', `${sha}\n${w.logs()}`);
    assert.equal(record.attempts, 1, `${sha}\n${w.logs()}`);
  }
  await after.delivered(c4, 'feature');
  await w.stop(after);

  const known = (await dispatcher.status()).builds.map((build) => build.commit);
  assert.deepEqual([...known].sort(), [...all].sort(), `each commit queued once, and only these\n${w.logs()}`);
  // Log kept: finding a commit leaves no trace outside the observer but the commit it sends, which the dispatcher dedupes.
  const observerLines = [...before.lines, ...after.lines];
  for (const sha of [c1, c2, c3, c4]) {
    const found = observerLines.filter((line) => line.includes(`new commit ${sha}`)).length;
    assert.equal(found, 1, `${sha} found once across both observers\n${w.logs()}`);
  }
});

test('a journal whose last line was torn mid-write replays cleanly: logged, not fatal, the queued commit still tested', async (t) => {
  const w = world(t);
  const a = w.push({ 'tests/run.sh': w.scripts.passing() }, 'a');
  const b = w.push({ 'b.txt': 'b\n' }, 'b');

  const first = await w.dispatcher();
  const observer = await connectObserver(t, first.port, { repo: w.central });
  assert.equal((await observer.report(a)).duplicate, false);
  await w.stop(first, 'SIGKILL');
  const journal = join(w.state, 'dispatcher.journal');
  assert.ok(existsSync(journal), `${journal} exists`);
  assert.ok(readFileSync(journal, 'utf8').endsWith('\n'), 'the journal ends with a whole record');
  appendFileSync(journal, '{"seq":99,"op":"comm');

  const second = await w.dispatcher();
  // Log kept: that the torn tail is logged is what this test checks.
  await second.waitForLine(/torn/);
  const again = await connectObserver(t, second.port, { repo: w.central });
  assert.equal((await again.report(a)).duplicate, true, `${a} survived the torn tail\n${w.logs()}`);
  assert.equal((await again.report(b)).duplicate, false, 'a commit after the torn tail is new');
  assert.equal(second.child.exitCode, null, 'still serving');

  // What was appended after the torn tail replays too.
  await w.stop(second, 'SIGKILL');
  const third = await w.dispatcher();
  await w.runner('r1', third);
  for (const sha of [a, b]) {
    const record = await w.result(sha);
    assert.equal(record.status, 'passed', `${sha}\n${w.logs()}`);
    assert.equal(record.attempts, 1, `${sha}\n${w.logs()}`);
  }
  // Log kept, as above: a clean journal is one the dispatcher says nothing about.
  assert.equal(third.count(/unreadable|torn/), 0, `the third start reads a clean journal\n${w.logs()}`);
});

test('a flipped byte in the middle of the journal stops the start naming the line; --recover keeps what was before it and starts', async (t) => {
  const w = world(t);
  const a = w.push({ 'tests/run.sh': w.scripts.passing() }, 'a');
  const b = w.push({ 'b.txt': 'b\n' }, 'b');
  const first = await w.dispatcher();
  const observer = await connectObserver(t, first.port, { repo: w.central });
  await observer.report(a);
  await observer.report(b);
  await w.stop(first, 'SIGKILL');
  const journal = join(w.state, 'dispatcher.journal');
  const text = readFileSync(journal, 'utf8');
  const at = text.indexOf(b) + 3;
  writeFileSync(journal, `${text.slice(0, at)}${text[at] === '0' ? '1' : '0'}${text.slice(at + 1)}`);

  const refused = await runEntry('dispatcher/main.js', ['--port', '0', '--results', w.results, '--state', w.state]);
  assert.equal(refused.code, 2, refused.stderr);
  assert.equal(refused.stderr.trim().split('\n').length, 1, `one line:\n${refused.stderr}`);
  assert.match(refused.stderr, /dispatcher\.journal line 2 is damaged \(its checksum does not match\).*--recover to keep the 1 record\(s\) before it/);

  const recovered = await w.dispatcher({ extra: ['--recover'] });
  await w.runner('r1', recovered);
  assert.equal((await w.result(a)).status, 'passed', 'the commit before the damage is kept and tested');
  const again = await connectObserver(t, recovered.port, { repo: w.central });
  assert.equal((await again.report(b)).duplicate, false, 'the damaged record was moved aside, so its commit is new again');
  assert.equal((await w.result(b)).status, 'passed');
});

test('SIGTERM: dispatcher, idle runner and observer each exit 0; a restarted dispatcher still tests the queued commit', async (t) => {
  const w = world(t);
  const first = w.push({ 'tests/run.sh': w.scripts.passing() }, 'passing test');
  w.cloneFor();

  const dispatcher = await w.dispatcher();
  const runner = await w.runner('r1', dispatcher);
  const observer = w.observer(dispatcher);
  await w.result(first);

  assert.deepEqual(await w.stop(runner), { code: 0, signal: null }, `idle runner\n${w.logs()}`);
  await dispatcher.waitForRunnerGone('r1');

  const second = w.push({ 'two.txt': '2\n' }, 'queued while no runner is up');
  await dispatcher.waitForBuild(second);
  await observer.delivered(second);
  assert.deepEqual(await w.stop(observer), { code: 0, signal: null }, `observer\n${w.logs()}`);
  assert.deepEqual(await w.stop(dispatcher), { code: 0, signal: null }, `dispatcher\n${w.logs()}`);
  assert.equal(existsSync(join(w.results, second)), false, `${second} was never run`);

  const restarted = await w.dispatcher();
  await w.runner('r2', restarted);
  const record = await w.result(second);
  assert.equal(record.status, 'passed', w.logs());
  assert.equal(record.attempts, 1, w.logs());
  assert.equal(record.runner, 'r2');
  assert.deepEqual(w.scripts.runs('passing').filter((sha) => sha === first), [first], `${first} is not run again\n${w.logs()}`);
});

test('a runner SIGKILLed after spooling its result delivers it when restarted on the same --workdir (attempts 1)', async (t) => {
  // With the dispatcher gone the result can only be kept on disk; then the runner dies too.
  const { w, sha, first, runner } = await finishedWhileDispatcherIsDown(t);
  await w.stop(runner, 'SIGKILL');

  const second = await w.dispatcher({ port: first.port, extra: SLOW_BEATS });
  await w.runner('r1', second);
  const record = await w.result(sha);
  assert.equal(record.status, 'passed', w.logs());
  assert.equal(record.attempts, 1, `the spooled result was delivered, not the job re-run\n${w.logs()}`);
  assert.deepEqual(attemptsOf(record), [['passed', 'r1']], w.logs());
  assert.deepEqual(w.scripts.runs('a'), [sha], `the restarted runner ran nothing\n${w.logs()}`);
});

test('runner SIGTERMed mid-test drains: no new job, finishes the running one, exits 0', async (t) => {
  const w = world(t);
  const running = commitFiles(w.work, { 'tests/run.sh': w.scripts.blocking('a') }, 'blocking');
  const next = commitFiles(w.work, { 'tests/run.sh': w.scripts.passing('next') }, 'passing');
  git(w.work, 'push', '-q', 'origin', 'main');

  const dispatcher = await w.dispatcher();
  const runner = await w.runner('r1', dispatcher, { extra: ['--drain-grace', '30'] });
  const observer = await connectObserver(t, dispatcher.port, { repo: w.central });
  assert.equal((await observer.report(running)).duplicate, false);
  await w.scripts.started('a');
  assert.equal((await observer.report(next)).duplicate, false);

  runner.child.kill('SIGTERM');
  // Log kept: `status` does not say a runner drains, and the release must come after the dispatcher knows.
  await dispatcher.waitForLine(/runner r1 draining/);
  w.scripts.release();
  assert.deepEqual(await w.exit(runner), { code: 0, signal: null }, `drained runner\n${w.logs()}`);
  const record = await w.result(running);
  assert.equal(record.status, 'passed', w.logs());
  assert.equal(record.attempts, 1, w.logs());
  assert.equal(record.runner, 'r1');
  assert.deepEqual(w.scripts.runs('next'), [], `the draining runner did not run ${next}\n${w.logs()}`);

  await w.runner('r2', dispatcher);
  const after = await w.result(next);
  assert.equal(after.status, 'passed', w.logs());
  assert.equal(after.attempts, 1, `${next} was queued, not lost on the draining runner\n${w.logs()}`);
  assert.equal(after.runner, 'r2');
  assert.deepEqual(attemptsOf(after), [['passed', 'r2']], `the draining runner was not given ${next}\n${w.logs()}`);
});

test('runner SIGTERMed past --drain-grace hands the job back unfinished, kills its test and exits 0; another runner runs it', async (t) => {
  const w = world(t);
  const sha = w.push({ 'tests/run.sh': w.scripts.blocking('a') }, 'blocking');

  const dispatcher = await w.dispatcher();
  const runner = await w.runner('r1', dispatcher, { extra: ['--drain-grace', '0.5', '--kill-grace', '1'] });
  const observer = await connectObserver(t, dispatcher.port, { repo: w.central });
  assert.equal((await observer.report(sha)).duplicate, false);
  await w.scripts.started('a');
  const group = Number(readFileSync(join(w.control, 'started-a'), 'utf8'));

  assert.deepEqual(await w.stop(runner), { code: 0, signal: null }, `runner past its drain grace\n${w.logs()}`);
  await w.until(() => gone(-group), 'the handed-back test process group to be gone');
  await dispatcher.waitForBuild(sha, (b) => b.jobs[0]!.status === 'queued' && b.jobs[0]!.attempts[0]?.status === 'lost', `${sha} requeued`);

  w.scripts.release();
  await w.runner('r2', dispatcher);
  const record = await w.result(sha);
  assert.equal(record.status, 'passed', w.logs());
  assert.equal(record.attempts, 2, w.logs());
  assert.equal(record.runner, 'r2');
  assert.deepEqual(attemptsOf(record), [['lost', 'r1'], ['passed', 'r2']], w.logs());
});

test('a runner whose stderr\'s reader goes away (the shell that started it, gone) keeps running and takes jobs', async (t) => {
  const w = world(t);
  const sha = w.push({ 'tests/run.sh': w.scripts.passing('orphaned') }, 'a job for an orphaned runner');
  w.cloneFor();
  const dispatcher = await w.dispatcher();
  const runner = spawn(process.execPath, [RUNNER, '--dispatcher', dispatcher.address, '--name', 'orphan', '--workdir', join(w.tmp, 'orphan')], {
    stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, KEEL_TOKEN: undefined },
  });
  const exited = new Promise<number | null>((resolve) => runner.once('close', (code) => resolve(code)));
  stopAtEnd(t, async () => {
    runner.kill('SIGKILL');
    await exited;
  });
  await dispatcher.waitForRunner('orphan');
  // Every line it logs from now on meets a closed pipe (EPIPE).
  runner.stdout.destroy();
  runner.stderr.destroy();
  w.observer(dispatcher);
  const record = await w.result(sha);
  assert.equal(record.status, 'passed', w.logs());
  assert.equal(record.runner, 'orphan');
  assert.equal(runner.exitCode, null, 'still running');
});
