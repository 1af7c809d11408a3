// The three real processes on a real repository: observer -> dispatcher ->
// runner, result files on disk.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { world } from '../helpers/e2e.js';
import { commitFiles, git } from '../helpers/git-repo.js';

const PASSING = `import { test } from 'node:test';\nimport assert from 'node:assert/strict';\ntest('adds', () => assert.equal(1 + 1, 2));\n`;
const FAILING = `import { test } from 'node:test';\nimport assert from 'node:assert/strict';\ntest('adds', () => assert.equal(1 + 1, 3));\n`;

/** A central repo with one passing commit, a clone for the observer, and a dispatcher. */
async function setup(t: TestContext) {
  const w = world(t);
  const first = w.push({ 'tests/math.test.js': PASSING }, 'passing test');
  w.cloneFor();
  const dispatcher = await w.dispatcher();
  return { w, first, dispatcher };
}

test('a passing and a failing commit each end with result files', async (t) => {
  const { w, first, dispatcher } = await setup(t);
  w.startRunner('r1', dispatcher);
  w.observer(dispatcher);
  const passed = await w.result(first);
  assert.equal(passed.status, 'passed');
  assert.equal(passed.attempts, 1);
  assert.equal(passed.runner, 'r1');
  assert.deepEqual(passed.counts, { tests: 1, passed: 1, failed: 0, skipped: 0 });
  assert.match(readFileSync(join(w.results, `${first}.log`), 'utf8'), /adds/);

  const bad = w.push({ 'tests/math.test.js': FAILING }, 'failing test');
  const failed = await w.result(bad);
  assert.equal(failed.status, 'failed');
  assert.equal(failed.jobs[0].exitCode, 1);
  assert.match(w.report(bad), /status: +FAILED/);
});

test('ten commits pushed at once give ten results, oldest first', async (t) => {
  const { w, first, dispatcher } = await setup(t);
  w.startRunner('r1', dispatcher);
  w.observer(dispatcher);
  await w.result(first);
  const burst: string[] = [];
  for (let i = 0; i < 10; i++) burst.push(commitFiles(w.work, { [`file-${i}.txt`]: `${i}\n` }, `commit ${i}`));
  git(w.work, 'push', '-q', 'origin', 'main');
  const records = [];
  for (const sha of burst) records.push(await w.result(sha));
  assert.deepEqual(records.map((r) => r.status), Array(10).fill('passed'));
  const queuedOrder = records.map((r) => Date.parse(r.queuedAt));
  assert.deepEqual([...queuedOrder].sort((a, b) => a - b), queuedOrder, 'queued oldest first');
});

test('a runner killed mid-test: the commit still passes on the other runner, attempts = 2', async (t) => {
  const { w, dispatcher } = await setup(t);
  // The test blocks the first time it runs (until its runner is killed) and passes the second time.
  // It records its process group, which outlives the killed runner; the world ends it when the test ends.
  const marker = join(w.tmp, 'first-run');
  const script = [
    '#!/bin/sh', ...w.scripts.recordRun('slow'),
    `if [ -e '${marker}' ]; then echo second run; exit 0; fi`, `echo $$ > '${marker}'`, 'echo first run', 'exec sleep 60', '',
  ].join('\n');
  rmSync(join(w.work, 'tests', 'math.test.js'));
  const sha = w.push({ 'tests/run.sh': script }, 'slow test');
  const runners = { r1: w.startRunner('r1', dispatcher), r2: w.startRunner('r2', dispatcher) };
  await dispatcher.waitForRunner('r1');
  await dispatcher.waitForRunner('r2');
  w.observer(dispatcher);
  await w.until(() => existsSync(marker) && readFileSync(marker, 'utf8').trim() !== '', 'the first run to start');
  const victim = (await dispatcher.waitForAttempt(sha, 1)).runner as 'r1' | 'r2';
  runners[victim].child.kill('SIGKILL');
  const record = await w.result(sha);
  assert.equal(record.status, 'passed');
  assert.equal(record.attempts, 2);
  assert.equal(record.jobs[0].attempts[0].status, 'lost');
  assert.equal(record.jobs[0].attempts[0].runner, victim);
  assert.notEqual(record.runner, victim);
});
