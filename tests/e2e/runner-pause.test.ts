// keel runner pause / resume: a paused runner finishes what it runs and
// takes nothing new; the pause is journaled, so it holds through the
// dispatcher's restart; resume lets the waiting builds run.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { world } from '../helpers/e2e.js';

test('a paused runner finishes its job, takes no new one, stays paused through a dispatcher restart, and runs the queue once resumed', async (t) => {
  const w = world(t);
  const first = w.push({ 'tests/block.sh': w.scripts.blocking('block') }, 'blocks until released');
  w.cloneFor();
  const d = await w.dispatcher();
  await w.runner('r1', d);
  const observer = w.observer(d);
  await w.scripts.started('block');

  const paused = await d.keel('runner', 'pause', 'r1');
  assert.equal(paused.code, 0, paused.stderr);
  assert.equal(paused.stdout, 'paused runner r1: it finishes the 1 job it runs and takes no new one\n');
  const second = w.push({ 'tests/block.sh': w.scripts.passing('second') }, 'second');
  await observer.delivered(second);
  w.scripts.release();
  assert.equal((await w.result(first)).status, 'passed', 'the running job finished');
  const waiting = await d.waitForBuild(second, (b) => b.status === 'queued');
  assert.equal(waiting.jobs[0]!.attempts.length, 0);
  const status = await d.status();
  assert.equal(status.runners.find((r) => r.name === 'r1')?.paused, true);
  assert.equal(status.builds.find((b) => b.commit === second)?.note, 'no runner free: 1 paused');

  // The pause is in the journal: a restarted dispatcher keeps the runner paused when it reconnects.
  assert.equal((await w.stop(d)).code, 0);
  const again = await w.dispatcher({ port: d.port });
  await again.waitForRunner('r1');
  const after = await again.status();
  assert.equal(after.runners.find((r) => r.name === 'r1')?.paused, true, 'still paused after the restart');
  assert.match((await again.keel('status')).stdout, /runners: r1 \(0\/1 busy, paused\)/);
  assert.equal(w.scripts.runs('second').length, 0, 'nothing ran meanwhile');

  const resumed = await again.keel('runner', 'resume', 'r1');
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.equal(resumed.stdout, 'resumed runner r1\n');
  assert.equal((await w.result(second)).status, 'passed');
  const twice = await again.keel('runner', 'resume', 'r1');
  assert.equal(twice.code, 1);
  assert.equal(twice.stdout, 'runner r1 is not paused\n');
  const bad = await again.keel('runner', 'pause', '../x');
  assert.equal(bad.code, 2);
});
