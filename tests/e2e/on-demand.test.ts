// Runners started on demand: a dispatcher with no runner runs the operator's
// start command once a job has waited --scale-after; the command starts a
// real `keel runner --once` under the name it is given, which takes the job
// and exits. Another starts an ordinary runner, shown in keel status while it
// works, drained and stopped with the stop command once idle, also by a
// dispatcher restarted meanwhile. A start command that fails is counted,
// and shown; one that exits 0 but whose
// runner never registers fails at --start-deadline, and the next start
// waits out the backoff.
import { strict as assert } from 'node:assert';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { gone, world } from '../helpers/e2e.js';

const RUNNER = fileURLToPath(new URL('../../dist/runner/main.js', import.meta.url));

/**
 * A start command: a runner in the background under the name and labels it is given, its pid in control/auto-<name>.pid;
 * its output to a file of its own, so it outlives the dispatcher that started it.
 */
function startCommand(control: string, tmp: string, extra = ''): string {
  return [
    `node '${RUNNER}' ${extra} --dispatcher "$KEEL_DISPATCHER" --name "$KEEL_RUNNER_NAME" --labels "$KEEL_LABELS" --workdir '${tmp}/auto-'"$KEEL_RUNNER_NAME" >'${tmp}/auto-'"$KEEL_RUNNER_NAME"'.log' 2>&1 &`,
    `echo $! >> '${control}/pids'`,
    `echo $! > '${control}/auto-'"$KEEL_RUNNER_NAME"'.pid'`,
    `echo "$KEEL_RUNNER_NAME $KEEL_LABELS" >> '${control}/started-runners'`,
  ].join('\n');
}

test('a job that waits gets a runner started on demand: a real keel runner --once, which runs it and exits', async (t) => {
  const w = world(t);
  const sha = w.push({ 'tests/ok.sh': w.scripts.passing('once') }, 'a job for a runner yet to come');
  w.cloneFor();
  const dispatcher = await w.dispatcher({ extra: ['--runner-start', startCommand(w.control, w.tmp, '--once'), '--scale-after', '0.2'] });
  w.observer(dispatcher);
  const record = await w.result(sha);
  assert.equal(record.status, 'passed', w.logs());
  const [name] = (await w.scripts.file('started-runners')).split(' ');
  assert.match(name!, /^keel-auto-[0-9a-f]{6}-1$/);
  assert.equal(record.runner, name, 'the job ran on the runner started for it');
  const pid = Number(readFileSync(join(w.control, `auto-${name}.pid`), 'utf8'));
  await w.until(() => gone(pid), 'the --once runner to exit by itself');
  await dispatcher.waitForRunnerGone(name!);
  const status = await dispatcher.status();
  assert.deepEqual(status.scaling?.started, [], 'it is forgotten once gone');
  assert.equal(status.scaling?.failures, 0);
  assert.equal(readFileSync(join(w.control, 'started-runners'), 'utf8').trim().split('\n').length, 1, 'one runner for one job');
});

test('a runner started on demand is shown in keel status while it works, and drained and stopped once idle', async (t) => {
  const w = world(t);
  const sha = w.push({
    'keel.json': JSON.stringify({ jobs: { render: { run: './block.sh', labels: ['gpu'] } } }),
    'block.sh': w.scripts.blocking('render'),
  }, 'a gpu job');
  w.cloneFor();
  const stop = `kill "$(cat '${w.control}/auto-'"$KEEL_RUNNER_NAME"'.pid')"`;
  const dispatcher = await w.dispatcher({
    extra: ['--runner-start', startCommand(w.control, w.tmp), '--runner-stop', stop, '--scale-after', '0.2', '--idle-stop', '0.5', '--max-started', '2'],
  });
  w.observer(dispatcher);
  await w.scripts.started('render');
  const [name, labels] = (await w.scripts.file('started-runners')).split(' ');
  assert.equal(labels, 'gpu', 'KEEL_LABELS names the labels the job waits for');
  const text = await dispatcher.keel('status');
  assert.match(text.stdout, new RegExp(`started on demand: ${name} \\(running, gpu: 1 job\\(s\\) waited [0-9.]+ s for a runner with labels gpu\\)`), text.stdout);
  const json = JSON.parse((await dispatcher.keel('status', '--json')).stdout);
  assert.equal(json.scaling.started[0].name, name);
  assert.equal(json.scaling.started[0].state, 'running');

  w.scripts.release();
  const record = await w.result(sha);
  assert.equal(record.status, 'passed', w.logs());
  assert.equal(record.runner, name);
  const pid = Number(readFileSync(join(w.control, `auto-${name}.pid`), 'utf8'));
  await w.until(() => gone(pid), 'the idle runner to be stopped by the stop command');
  await dispatcher.waitForRunnerGone(name!);
  assert.deepEqual((await dispatcher.status()).scaling?.started, []);
  assert.ok(existsSync(join(w.control, 'started-runners')));
  assert.equal(readFileSync(join(w.control, 'started-runners'), 'utf8').trim().split('\n').length, 1, 'started once');
});

test('a runner an earlier run of the dispatcher started is known again after a restart, and stopped once idle', async (t) => {
  const w = world(t);
  const sha = w.push({ 'tests/ok.sh': w.scripts.passing('before') }, 'a job for a runner yet to come');
  w.cloneFor();
  const stop = `kill "$(cat '${w.control}/auto-'"$KEEL_RUNNER_NAME"'.pid')"`;
  const first = await w.dispatcher({ extra: ['--runner-start', startCommand(w.control, w.tmp), '--scale-after', '0.2', '--idle-stop', '3600'] });
  w.observer(first);
  assert.equal((await w.result(sha)).status, 'passed', w.logs());
  const [name] = (await w.scripts.file('started-runners')).split(' ');
  const pid = Number(readFileSync(join(w.control, `auto-${name}.pid`), 'utf8'));

  // Killed: nothing tells the next run which runners this one started, but their names.
  await w.stop(first, 'SIGKILL');
  const second = await w.dispatcher({ port: first.port, extra: ['--runner-start', startCommand(w.control, w.tmp), '--runner-stop', stop, '--scale-after', '0.2', '--idle-stop', '0.5'] });
  await second.waitForLine(new RegExp(`runner ${name} was started on demand before the dispatcher restarted`));
  await w.until(() => gone(pid), 'the adopted runner, idle, to be stopped by the stop command');
  await second.waitForRunnerGone(name!);
  assert.deepEqual((await second.status()).scaling?.started, []);
  assert.equal(readFileSync(join(w.control, 'started-runners'), 'utf8').trim().split('\n').length, 1, 'no runner started by the second run');
});

test('a start command that fails is counted and shown', async (t) => {
  const w = world(t);
  const sha = w.push({ 'tests/ok.sh': w.scripts.passing() }, 'waits');
  w.cloneFor();
  const dispatcher = await w.dispatcher({ extra: ['--runner-start', `echo "no capacity" >&2; echo x >> '${w.control}/attempts'; exit 7`, '--scale-after', '0'] });
  w.observer(dispatcher);
  await dispatcher.waitForBuild(sha);
  const status = await w.until(async () => {
    const now = await dispatcher.status();
    return (now.scaling?.failures ?? 0) >= 1 ? now : null;
  }, 'a failed start to be counted');
  assert.match(status.scaling!.lastFailure, /^keel-auto-[0-9a-f]{6}-1: --runner-start failed: exited with code 7: no capacity$/);
  // How it backs off is the plan's (tests/dispatcher/autoscale-plan.test.ts); here only that it says so.
  const text = await dispatcher.keel('status');
  assert.match(text.stdout, /started on demand: none now; \d+ failed start\(s\), last: keel-auto-.*exited with code 7: no capacity(; backing off until \S+)?\n/);
});

test('a start whose runner never registers fails at --start-deadline, waits out the backoff, is tried again; a runner started by hand still takes the job', async (t) => {
  const w = world(t);
  const sha = w.push({ 'tests/ok.sh': w.scripts.passing() }, 'waits for a runner that never comes');
  w.cloneFor();
  // Exits 0 and starts nothing; each call leaves "<name> <ms since the epoch>" in control/starts.
  const file = join(w.control, 'starts');
  const start = `echo "$KEEL_RUNNER_NAME $(date +%s%3N)" >> '${file}'`;
  // The first backoff is half to all of max(1 s, --scale-after): 1.5–3 s here, time enough to look during it on a loaded machine.
  const dispatcher = await w.dispatcher({ extra: ['--runner-start', start, '--start-deadline', '0.1', '--scale-after', '3'] });
  w.observer(dispatcher);
  await dispatcher.waitForBuild(sha);
  const starts = () => (existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : []).map((line) => {
    const [name, at] = line.split(' ');
    return { name: name!, at: Number(at) };
  });

  // The calls are read before the status: while the status still shows the first backoff, they were made before its end.
  const first = await w.until(async () => {
    const calls = starts();
    const { scaling } = await dispatcher.status();
    return scaling && scaling.failures > 0 ? { calls, scaling } : null;
  }, 'the start to fail at its deadline');
  assert.equal(first.scaling.failures, 1, `the backoff after the first failure was over before it was seen\n${w.logs()}`);
  // At most one: not started again at once after the failure (on a loaded machine its sh may not have written yet).
  assert.ok(first.calls.length <= 1, `${first.calls.length} starts, one failed`);
  const [call] = await w.until(() => (starts().length > 0 ? starts() : null), 'the start command to have run');
  assert.match(call!.name, /^keel-auto-[0-9a-f]{6}-1$/);
  assert.equal(first.scaling.lastFailure, `${call!.name}: did not register within 0.1 s (--start-deadline)`);
  assert.deepEqual(first.scaling.started, [], 'a failed start is no longer shown as starting');
  const backoffUntil = first.scaling.backoffUntil;
  assert.match(backoffUntil ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  const backoffEnd = Date.parse(backoffUntil!);

  // As the CLI prints it; a loaded machine may have let the backoff end first, and then a later failure shows.
  const text = (await dispatcher.keel('status')).stdout;
  const json = JSON.parse((await dispatcher.keel('status', '--json')).stdout);
  if (Date.now() < backoffEnd) {
    assert.ok(text.includes(`started on demand: none now; 1 failed start(s), last: ${first.scaling.lastFailure}; backing off until ${backoffUntil}\n`), text);
    assert.deepEqual(json.scaling, { started: [], failures: 1, lastFailure: first.scaling.lastFailure, backoffUntil });
  } else {
    const failure = /\d+ failed start\(s\), last: keel-auto-[0-9a-f]{6}-\d+: did not register within 0\.1 s \(--start-deadline\)/;
    assert.match(text, failure, text);
    assert.match(`${json.scaling.failures} failed start(s), last: ${json.scaling.lastFailure}`, failure);
  }

  // While the status shows the same backoff, no second start has been made.
  await w.until(async () => {
    const calls = starts();
    const { scaling } = await dispatcher.status();
    if (scaling?.backoffUntil !== backoffUntil) return true;
    assert.equal(calls.length, 1, `a start during the backoff, which lasts until ${backoffUntil}`);
    return false;
  }, 'the backoff to end');

  const again = await w.until(() => starts()[1], 'a start to be tried again after the backoff');
  assert.match(again.name, /^keel-auto-[0-9a-f]{6}-2$/);
  assert.ok(again.at >= backoffEnd, `tried again at ${new Date(again.at).toISOString()}, before the backoff's end, ${backoffUntil}`);

  await w.runner('by-hand', dispatcher);
  const record = await w.result(sha);
  assert.equal(record.status, 'passed', w.logs());
  assert.equal(record.runner, 'by-hand');
});
