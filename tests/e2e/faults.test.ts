// "Nothing lost": the real processes on real repositories, with faults
// injected — SIGKILL, SIGSTOP/SIGCONT, SIGTERM, a torn journal. Every wait is
// on a log line, a protocol reply or a file, never on a fixed sleep. The
// tests' own scripts block on a release file at an absolute path, so the test
// decides when a "running" test ends.
import { strict as assert } from 'node:assert';
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { commitFiles, git, makeCentralAndClone } from '../helpers/git-repo.js';
import { TestPeer } from '../helpers/peer.js';
import { gone, spawnKeel, type Proc } from '../helpers/processes.js';
import { tempDir, waitFor } from '../helpers/temp.js';

const WAIT_MS = 30_000;
/** How long a process may take to stop after SIGTERM (its own grace is 10 s). */
const EXIT_GRACE_MS = 15_000;
/** Heartbeats where they do not matter: a deadline long enough for a runner to reconnect after a restart. */
const SLOW_BEATS = ['--heartbeat', '0.5', '--deadline', '10'];
/** Heartbeats where they matter: a silent runner is lost within 1.5 s. */
const FAST_BEATS = ['--heartbeat', '0.25', '--deadline', '1.5'];
const PASSING_SCRIPT = '#!/bin/sh\necho ok\n';

type Exit = { code: number | null; signal: NodeJS.Signals | null };
type Dispatcher = Proc & { port: number };

function count(lines: string[], pattern: RegExp): number {
  return lines.filter((line) => pattern.test(line)).length;
}

/**
 * One test's world: temp folders, a central repo with a working copy and a
 * clone, and starters for the three processes. Its after-hook is added before
 * any temp folder, so it runs first (after-hooks run in the order added):
 * every process is SIGCONTed and SIGKILLed, and every test script's process
 * group (which outlives a killed runner) is killed, before the folders go.
 */
function harness(t: TestContext) {
  const procs: Array<{ label: string; proc: Proc }> = [];
  const peers: TestPeer[] = [];
  let control = '';
  t.after(async () => {
    for (const peer of peers) peer.close();
    await Promise.all(procs.map(async ({ proc }) => {
      if (proc.child.exitCode !== null || proc.child.signalCode !== null) return;
      try { proc.child.kill('SIGCONT'); } catch { /* gone */ }
      proc.child.kill('SIGKILL');
      await proc.exited;
    }));
    const pids = control && existsSync(join(control, 'pids')) ? readFileSync(join(control, 'pids'), 'utf8') : '';
    for (const pid of pids.split('\n').filter(Boolean)) {
      try { process.kill(-Number(pid), 'SIGKILL'); } catch { /* already gone */ }
    }
  });

  const repos = makeCentralAndClone(t);
  const tmp = tempDir(t, 'keel-faults-');
  control = join(tmp, 'control');
  mkdirSync(control);
  const results = join(tmp, 'results');
  const state = join(tmp, 'dispatcher-state');

  const track = (label: string, proc: Proc): Proc => {
    procs.push({ label, proc });
    return proc;
  };
  /** Every process's lines so far, for assertion messages. */
  const logs = (): string => procs.map(({ label, proc }) => `--- ${label}\n${proc.lines.join('\n')}`).join('\n');

  return {
    ...repos, tmp, results, state, control, logs,

    /** A dispatcher on `port` (0: a free one) with the test's state and results folders. */
    async dispatcher(options: { port?: number; extra?: string[] } = {}): Promise<Dispatcher> {
      const args = ['--port', String(options.port ?? 0), '--results', results, '--state', state, ...(options.extra ?? [])];
      const proc = track(`dispatcher #${procs.filter((p) => p.label.startsWith('dispatcher')).length + 1}`, spawnKeel(t, 'dispatcher/main.js', args));
      const match = await proc.waitForLine(/listening on [^ ]*:(\d+);/);
      return { ...proc, port: Number(match[1]) };
    },

    runner(name: string, port: number, extra: string[] = []): Proc {
      const args = ['--dispatcher', `127.0.0.1:${port}`, '--name', name, '--workdir', join(tmp, `runner-${name}`), ...extra];
      return track(`runner ${name}`, spawnKeel(t, 'runner/main.js', args));
    },

    observer(port: number): Proc {
      const args = ['--dispatcher', `127.0.0.1:${port}`, '--interval', '0.1', '--state', join(tmp, 'observer-state'), repos.clone];
      return track(`observer #${procs.filter((p) => p.label.startsWith('observer')).length + 1}`, spawnKeel(t, 'observer/main.js', args));
    },

    async peer(port: number, role: 'observer' | 'client'): Promise<TestPeer> {
      const peer = role === 'observer' ? await TestPeer.observer(port, repos.central) : await TestPeer.as(port, role);
      peers.push(peer);
      return peer;
    },

    /** Reports a commit of the central repo as an observer would; resolves once the dispatcher says it is queued. */
    async report(peer: TestPeer, commit: string): Promise<boolean> {
      const queued = await peer.report(commit);
      assert.equal(queued.commit, commit);
      return queued.duplicate;
    },

    /**
     * A test script that records its process group, says it started (file
     * `started-<name>`), waits for the release file and exits `exitCode`.
     */
    blocking(name: string, exitCode = 0): string {
      return [
        '#!/bin/sh',
        `echo $$ >> '${control}/pids'`,
        `echo $$ > '${control}/started-${name}'`,
        `while [ ! -e '${control}/release' ]; do sleep 0.05; done`,
        `echo '${name} released'`,
        `exit ${exitCode}`,
        '',
      ].join('\n');
    },

    async started(name: string): Promise<void> {
      await waitFor(() => existsSync(join(control, `started-${name}`)), `the test script ${name} to start`, WAIT_MS)
        .catch((error: Error) => { throw new Error(`${error.message}\n${logs()}`); });
    },

    release(): void {
      writeFileSync(join(control, 'release'), '');
    },

    /** Commits to the working copy and pushes to central. */
    push(files: Record<string, string>, message: string, branch = 'main'): string {
      const sha = commitFiles(repos.work, files, message);
      git(repos.work, 'push', '-q', 'origin', branch);
      return sha;
    },

    /** Waits for <results>/<sha> (written last, so the rest is there) and returns <sha>.json. */
    async result(sha: string, timeoutMs = WAIT_MS) {
      await waitFor(() => existsSync(join(results, sha)), `the result of ${sha}`, timeoutMs)
        .catch((error: Error) => { throw new Error(`${error.message}\n${logs()}`); });
      return JSON.parse(readFileSync(join(results, `${sha}.json`), 'utf8'));
    },
  };
}

/** Resolves with how the process exited; rejects if it has not within `ms`. */
async function exitWithin(proc: Proc, ms: number, logs: () => string): Promise<Exit> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`still running ${ms} ms after the signal\n${logs()}`)), ms);
  });
  try {
    return await Promise.race([proc.exited, late]);
  } finally {
    clearTimeout(timer);
  }
}

async function sigkill(proc: Proc): Promise<void> {
  proc.child.kill('SIGKILL');
  await proc.exited;
}

test('dispatcher SIGKILLed with 3 queued and 1 running: after a restart all 4 pass once, the running one re-claimed (attempts 1)', async (t) => {
  const h = harness(t);
  const shas = ['a', 'b', 'c', 'd'].map((name) => commitFiles(h.work, { 'tests/run.sh': h.blocking(name) }, `blocking ${name}`));
  git(h.work, 'push', '-q', 'origin', 'main');
  const [running, ...queued] = shas as [string, ...string[]];

  const first = await h.dispatcher({ extra: SLOW_BEATS });
  const runner = h.runner('r1', first.port);
  await first.waitForLine(/runner r1 registered/);
  const observer = await h.peer(first.port, 'observer');
  assert.equal(await h.report(observer, running), false);
  await first.waitForLine(new RegExp(`job ${running} \\(tests\\) attempt 1 -> r1`));
  await h.started('a');
  for (const sha of queued) assert.equal(await h.report(observer, sha), false, `${sha} is new`);

  await sigkill(first);
  const second = await h.dispatcher({ port: first.port, extra: SLOW_BEATS });
  await second.waitForLine(/runner r1 registered/);
  h.release();

  const records = [];
  for (const sha of shas) records.push(await h.result(sha));
  // A clean stop lets any second write of a result happen before the count.
  second.child.kill('SIGTERM');
  await exitWithin(second, EXIT_GRACE_MS, h.logs);

  for (const [i, record] of records.entries()) {
    assert.equal(record.status, 'passed', `${shas[i]} passed\n${h.logs()}`);
    assert.equal(record.attempts, 1, `${shas[i]} ran once\n${h.logs()}`);
  }
  const [reclaimed] = records;
  assert.equal(reclaimed.runner, 'r1');
  assert.deepEqual(reclaimed.jobs[0].attempts.map((a: { status: string; runner: string }) => [a.status, a.runner]), [['passed', 'r1']],
    `the running job was re-bound to r1, not requeued\n${h.logs()}`);
  assert.equal(count(runner.lines, new RegExp(`job ${running} \\(tests\\) attempt \\d+: starting`)), 1, `r1 started ${running} once\n${h.logs()}`);
  const dispatcherLines = [...first.lines, ...second.lines];
  for (const sha of shas) {
    assert.equal(count(dispatcherLines, new RegExp(`wrote \\S*/${sha}$`)), 1, `the result of ${sha} was written exactly once\n${h.logs()}`);
  }
});

test('dispatcher SIGKILLed mid-test: the runner finishes while it is down, spools, and delivers after the restart (attempts 1)', async (t) => {
  const h = harness(t);
  const sha = h.push({ 'tests/run.sh': h.blocking('a') }, 'blocking');

  const first = await h.dispatcher({ extra: SLOW_BEATS });
  const runner = h.runner('r1', first.port);
  await first.waitForLine(/runner r1 registered/);
  const observer = await h.peer(first.port, 'observer');
  assert.equal(await h.report(observer, sha), false);
  await first.waitForLine(new RegExp(`job ${sha} \\(tests\\) attempt 1 -> r1`));
  await h.started('a');

  await sigkill(first);
  h.release();
  await runner.waitForLine(new RegExp(`job ${sha} \\(tests\\)[^:]*: passed`));
  assert.equal(runner.child.exitCode, null, `the runner keeps going without a dispatcher\n${h.logs()}`);
  assert.equal(existsSync(join(h.results, sha)), false, 'no result yet: nobody has recorded it');

  const second = await h.dispatcher({ port: first.port, extra: SLOW_BEATS });
  const record = await h.result(sha);
  assert.equal(record.status, 'passed', h.logs());
  assert.equal(record.attempts, 1, `the spooled result was accepted, not the job re-run\n${h.logs()}`);
  assert.equal(record.runner, 'r1');
  assert.equal(record.jobs[0].attempts.length, 1, h.logs());
  assert.equal(count(second.lines, /dropped a result for stale lease/), 0, h.logs());
  assert.equal(count(runner.lines, new RegExp(`job ${sha} \\(tests\\) attempt \\d+: starting`)), 1, `ran once\n${h.logs()}`);
});

test('a SIGSTOPped runner is lost after the deadline; the job passes on the other runner; its late result is dropped as stale', async (t) => {
  const h = harness(t);
  // The first run blocks until released and then fails; any later run passes at once.
  const script = [
    '#!/bin/sh',
    `echo $$ >> '${h.control}/pids'`,
    `if mkdir '${h.control}/first-run' 2>/dev/null; then`,
    `  echo $$ > '${h.control}/started-first'`,
    `  while [ ! -e '${h.control}/release' ]; do sleep 0.05; done`,
    '  echo late first run; exit 1',
    'fi',
    'echo second run',
    '',
  ].join('\n');
  const sha = h.push({ 'tests/run.sh': script }, 'first run blocks');

  const dispatcher = await h.dispatcher({ extra: FAST_BEATS });
  const runners = { r1: h.runner('r1', dispatcher.port), r2: h.runner('r2', dispatcher.port) };
  await dispatcher.waitForLine(/runner r1 registered/);
  await dispatcher.waitForLine(/runner r2 registered/);
  const observer = await h.peer(dispatcher.port, 'observer');
  assert.equal(await h.report(observer, sha), false);
  const [, victimName] = await dispatcher.waitForLine(new RegExp(`job ${sha} \\(tests\\) attempt 1 -> (r[12])`));
  const otherName = victimName === 'r1' ? 'r2' : 'r1';
  const victim = runners[victimName as 'r1' | 'r2'];
  await h.started('first');

  victim.child.kill('SIGSTOP');
  await dispatcher.waitForLine(new RegExp(`runner ${victimName} lost`));
  await dispatcher.waitForLine(new RegExp(`job ${sha} \\(tests\\) attempt 2 -> ${otherName}`));
  const record = await h.result(sha);
  const expectAttempt2 = (r: typeof record, when: string) => {
    assert.equal(r.status, 'passed', `${when}\n${h.logs()}`);
    assert.equal(r.attempts, 2, `${when}\n${h.logs()}`);
    assert.equal(r.runner, otherName, `${when}\n${h.logs()}`);
    assert.deepEqual(r.jobs[0].attempts.map((a: { status: string; runner: string }) => [a.status, a.runner]),
      [['lost', victimName], ['passed', otherName]], `${when}\n${h.logs()}`);
  };
  expectAttempt2(record, 'after attempt 2');

  victim.child.kill('SIGCONT');
  h.release();
  const [, staleLease] = await dispatcher.waitForLine(/dropped a result for stale lease (\S+)/);
  assert.equal(staleLease, record.jobs[0].attempts[0].lease, 'the dropped result is the lost attempt\'s');
  await victim.waitForLine(/stale/);
  expectAttempt2(JSON.parse(readFileSync(join(h.results, `${sha}.json`), 'utf8')), 'after the late result');
  assert.equal(victim.child.exitCode, null, `the late runner is still alive\n${h.logs()}`);
});

test('observer SIGKILLed and restarted on the same --state: commits pushed meanwhile are all tested, none reported twice', async (t) => {
  const h = harness(t);
  const first = h.push({ 'tests/run.sh': PASSING_SCRIPT }, 'passing test');
  git(h.work, 'clone', '-q', h.central, h.clone);

  const dispatcher = await h.dispatcher();
  h.runner('r1', dispatcher.port);
  const before = h.observer(dispatcher.port);
  await h.result(first);
  const c1 = h.push({ 'one.txt': '1\n' }, 'one');
  await before.waitForLine(new RegExp(`dispatcher queued ${c1}`));
  await sigkill(before);

  const c2 = h.push({ 'two.txt': '2\n' }, 'two');
  const c3 = h.push({ 'three.txt': '3\n' }, 'three');
  git(h.work, 'checkout', '-q', '-b', 'feature');
  const c4 = h.push({ 'four.txt': '4\n' }, 'four on a new branch', 'feature');
  const after = h.observer(dispatcher.port);
  const all = [first, c1, c2, c3, c4];
  for (const sha of all) {
    const record = await h.result(sha);
    assert.equal(record.status, 'passed', `${sha}\n${h.logs()}`);
    assert.equal(record.attempts, 1, `${sha}\n${h.logs()}`);
  }
  await after.waitForLine(new RegExp(`dispatcher queued ${c4}`));
  after.child.kill('SIGTERM');
  await exitWithin(after, EXIT_GRACE_MS, h.logs);

  for (const sha of all) {
    assert.equal(count(dispatcher.lines, new RegExp(`queued ${sha} `)), 1, `${sha} queued once\n${h.logs()}`);
  }
  assert.equal(count(dispatcher.lines, /\] queued [0-9a-f]{40} /), all.length, `only these commits were queued\n${h.logs()}`);
  const observerLines = [...before.lines, ...after.lines];
  for (const sha of [c1, c2, c3, c4]) {
    assert.equal(count(observerLines, new RegExp(`new commit ${sha}`)), 1, `${sha} found once across both observers\n${h.logs()}`);
  }
});

test('a journal whose last line was torn mid-write replays cleanly: logged, not fatal, the queued commit still tested', async (t) => {
  const h = harness(t);
  const a = h.push({ 'tests/run.sh': PASSING_SCRIPT }, 'a');
  const b = h.push({ 'b.txt': 'b\n' }, 'b');

  const first = await h.dispatcher();
  const observer = await h.peer(first.port, 'observer');
  assert.equal(await h.report(observer, a), false);
  await sigkill(first);
  const journal = join(h.state, 'dispatcher.journal');
  assert.ok(existsSync(journal), `${journal} exists`);
  assert.ok(readFileSync(journal, 'utf8').endsWith('\n'), 'the journal ends with a whole record');
  appendFileSync(journal, '{"seq":99,"op":"comm');

  const second = await h.dispatcher();
  await second.waitForLine(/torn/);
  const again = await h.peer(second.port, 'observer');
  assert.equal(await h.report(again, a), true, `${a} survived the torn tail\n${h.logs()}`);
  assert.equal(await h.report(again, b), false, 'a commit after the torn tail is new');
  assert.equal(second.child.exitCode, null, 'still serving');

  // What was appended after the torn tail replays too.
  await sigkill(second);
  const third = await h.dispatcher();
  h.runner('r1', third.port);
  for (const sha of [a, b]) {
    const record = await h.result(sha);
    assert.equal(record.status, 'passed', `${sha}\n${h.logs()}`);
    assert.equal(record.attempts, 1, `${sha}\n${h.logs()}`);
  }
  assert.equal(count(third.lines, /unreadable|torn/), 0, `the third start reads a clean journal\n${h.logs()}`);
});

test('SIGTERM: dispatcher, idle runner and observer each exit 0; a restarted dispatcher still tests the queued commit', async (t) => {
  const h = harness(t);
  const first = h.push({ 'tests/run.sh': PASSING_SCRIPT }, 'passing test');
  git(h.work, 'clone', '-q', h.central, h.clone);

  const dispatcher = await h.dispatcher();
  const runner = h.runner('r1', dispatcher.port);
  const observer = h.observer(dispatcher.port);
  await h.result(first);

  runner.child.kill('SIGTERM');
  assert.deepEqual(await exitWithin(runner, EXIT_GRACE_MS, h.logs), { code: 0, signal: null }, `idle runner\n${h.logs()}`);
  await dispatcher.waitForLine(/runner r1 (lost|draining)/);

  const second = h.push({ 'two.txt': '2\n' }, 'queued while no runner is up');
  await dispatcher.waitForLine(new RegExp(`queued ${second} `));
  await observer.waitForLine(new RegExp(`dispatcher queued ${second}`));
  observer.child.kill('SIGTERM');
  assert.deepEqual(await exitWithin(observer, EXIT_GRACE_MS, h.logs), { code: 0, signal: null }, `observer\n${h.logs()}`);
  dispatcher.child.kill('SIGTERM');
  assert.deepEqual(await exitWithin(dispatcher, EXIT_GRACE_MS, h.logs), { code: 0, signal: null }, `dispatcher\n${h.logs()}`);
  assert.equal(existsSync(join(h.results, second)), false, `${second} was never run`);

  const restarted = await h.dispatcher();
  h.runner('r2', restarted.port);
  const record = await h.result(second);
  assert.equal(record.status, 'passed', h.logs());
  assert.equal(record.attempts, 1, h.logs());
  assert.equal(record.runner, 'r2');
  assert.equal(count(restarted.lines, new RegExp(`job ${first} `)), 0, `${first} is not run again\n${h.logs()}`);
});

test('a runner SIGKILLed after spooling its result delivers it when restarted on the same --workdir (attempts 1)', async (t) => {
  const h = harness(t);
  const sha = h.push({ 'tests/run.sh': h.blocking('a') }, 'blocking');

  const first = await h.dispatcher({ extra: SLOW_BEATS });
  const runner = h.runner('r1', first.port);
  await first.waitForLine(/runner r1 registered/);
  const observer = await h.peer(first.port, 'observer');
  assert.equal(await h.report(observer, sha), false);
  await h.started('a');

  // With the dispatcher gone the result can only be kept on disk; then the runner dies too.
  await sigkill(first);
  h.release();
  await runner.waitForLine(new RegExp(`job ${sha} \\(tests\\)[^:]*: passed`));
  await sigkill(runner);

  const second = await h.dispatcher({ port: first.port, extra: SLOW_BEATS });
  const restarted = h.runner('r1', second.port);
  const record = await h.result(sha);
  assert.equal(record.status, 'passed', h.logs());
  assert.equal(record.attempts, 1, `the spooled result was delivered, not the job re-run\n${h.logs()}`);
  assert.deepEqual(record.jobs[0].attempts.map((a: { status: string; runner: string }) => [a.status, a.runner]), [['passed', 'r1']], h.logs());
  assert.equal(count(restarted.lines, /: starting/), 0, `the restarted runner ran nothing\n${h.logs()}`);
});

test('runner SIGTERMed mid-test drains: no new job, finishes the running one, exits 0', async (t) => {
  const h = harness(t);
  const running = commitFiles(h.work, { 'tests/run.sh': h.blocking('a') }, 'blocking');
  const next = commitFiles(h.work, { 'tests/run.sh': PASSING_SCRIPT }, 'passing');
  git(h.work, 'push', '-q', 'origin', 'main');

  const dispatcher = await h.dispatcher();
  const runner = h.runner('r1', dispatcher.port, ['--drain-grace', '30']);
  await dispatcher.waitForLine(/runner r1 registered/);
  const observer = await h.peer(dispatcher.port, 'observer');
  assert.equal(await h.report(observer, running), false);
  await h.started('a');
  assert.equal(await h.report(observer, next), false);

  runner.child.kill('SIGTERM');
  await dispatcher.waitForLine(/runner r1 draining/);
  h.release();
  assert.deepEqual(await exitWithin(runner, EXIT_GRACE_MS, h.logs), { code: 0, signal: null }, `drained runner\n${h.logs()}`);
  const record = await h.result(running);
  assert.equal(record.status, 'passed', h.logs());
  assert.equal(record.attempts, 1, h.logs());
  assert.equal(record.runner, 'r1');
  assert.equal(count(runner.lines, new RegExp(`job ${next} `)), 0, `the draining runner was not given ${next}\n${h.logs()}`);

  h.runner('r2', dispatcher.port);
  const after = await h.result(next);
  assert.equal(after.status, 'passed', h.logs());
  assert.equal(after.attempts, 1, `${next} was queued, not lost on the draining runner\n${h.logs()}`);
  assert.equal(after.runner, 'r2');
});

test('runner SIGTERMed past --drain-grace hands the job back unfinished, kills its test and exits 0; another runner runs it', async (t) => {
  const h = harness(t);
  const sha = h.push({ 'tests/run.sh': h.blocking('a') }, 'blocking');

  const dispatcher = await h.dispatcher();
  const runner = h.runner('r1', dispatcher.port, ['--drain-grace', '0.5', '--kill-grace', '1']);
  await dispatcher.waitForLine(/runner r1 registered/);
  const observer = await h.peer(dispatcher.port, 'observer');
  assert.equal(await h.report(observer, sha), false);
  await h.started('a');
  const group = Number(readFileSync(join(h.control, 'started-a'), 'utf8'));

  runner.child.kill('SIGTERM');
  assert.deepEqual(await exitWithin(runner, EXIT_GRACE_MS, h.logs), { code: 0, signal: null }, `runner past its drain grace\n${h.logs()}`);
  await waitFor(() => gone(-group), 'the handed-back test process group to be gone', WAIT_MS);
  await dispatcher.waitForLine(new RegExp(`requeued ${sha} `));

  h.release();
  h.runner('r2', dispatcher.port);
  const record = await h.result(sha);
  assert.equal(record.status, 'passed', h.logs());
  assert.equal(record.attempts, 2, h.logs());
  assert.equal(record.runner, 'r2');
  assert.deepEqual(record.jobs[0].attempts.map((a: { status: string; runner: string }) => [a.status, a.runner]),
    [['lost', 'r1'], ['passed', 'r2']], h.logs());
});
