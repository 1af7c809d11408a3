// The three real processes on a real repository: observer -> dispatcher ->
// runner, result files on disk.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { commitFiles, git, makeCentralAndClone } from '../helpers/git-repo.js';
import { killGroupOf, spawnKeel, startDispatcherProcess } from '../helpers/processes.js';
import { tempDir, waitFor } from '../helpers/temp.js';

const PASSING = `import { test } from 'node:test';\nimport assert from 'node:assert/strict';\ntest('adds', () => assert.equal(1 + 1, 2));\n`;
const FAILING = `import { test } from 'node:test';\nimport assert from 'node:assert/strict';\ntest('adds', () => assert.equal(1 + 1, 3));\n`;

function push(work: string, files: Record<string, string>, message: string): string {
  const sha = commitFiles(work, files, message);
  git(work, 'push', '-q', 'origin', 'main');
  return sha;
}

function readResult(results: string, sha: string) {
  return JSON.parse(readFileSync(join(results, `${sha}.json`), 'utf8'));
}

async function waitForResult(results: string, sha: string, timeoutMs = 60_000) {
  await waitFor(() => existsSync(join(results, sha)), `the result of ${sha}`, timeoutMs);
  return readResult(results, sha);
}

/** A central repo with one passing commit, a clone for the observer, and a dispatcher. */
async function setup(t: TestContext) {
  const repos = makeCentralAndClone(t);
  const first = push(repos.work, { 'tests/math.test.js': PASSING }, 'passing test');
  git(repos.work, 'clone', '-q', repos.central, repos.clone);
  const tmp = tempDir(t);
  const results = join(tmp, 'results');
  const dispatcher = await startDispatcherProcess(t, results);
  const address = `127.0.0.1:${dispatcher.port}`;
  const runner = (name: string) => {
    const proc = spawnKeel(t, 'runner/main.js', ['--dispatcher', address, '--name', name, '--workdir', join(tmp, `runner-${name}`)]);
    return proc;
  };
  const observer = () => spawnKeel(t, 'observer/main.js', ['--dispatcher', address, '--interval', '0.1', '--state', join(tmp, 'observer'), repos.clone]);
  return { ...repos, first, tmp, results, dispatcher, address, runner, observer };
}

test('a passing and a failing commit each end with result files', async (t) => {
  const s = await setup(t);
  s.runner('r1');
  s.observer();
  const passed = await waitForResult(s.results, s.first);
  assert.equal(passed.status, 'passed');
  assert.equal(passed.attempts, 1);
  assert.equal(passed.runner, 'r1');
  assert.deepEqual(passed.counts, { tests: 1, passed: 1, failed: 0, skipped: 0 });
  assert.match(readFileSync(join(s.results, `${s.first}.log`), 'utf8'), /adds/);

  const bad = push(s.work, { 'tests/math.test.js': FAILING }, 'failing test');
  const failed = await waitForResult(s.results, bad);
  assert.equal(failed.status, 'failed');
  assert.equal(failed.jobs[0].exitCode, 1);
  assert.match(readFileSync(join(s.results, bad), 'utf8'), /status: +FAILED/);
});

test('ten commits pushed at once give ten results, oldest first', async (t) => {
  const s = await setup(t);
  s.runner('r1');
  s.observer();
  await waitForResult(s.results, s.first);
  const burst: string[] = [];
  for (let i = 0; i < 10; i++) burst.push(commitFiles(s.work, { [`file-${i}.txt`]: `${i}\n` }, `commit ${i}`));
  git(s.work, 'push', '-q', 'origin', 'main');
  const records = [];
  for (const sha of burst) records.push(await waitForResult(s.results, sha));
  assert.deepEqual(records.map((r) => r.status), Array(10).fill('passed'));
  const queuedOrder = records.map((r) => Date.parse(r.queuedAt));
  assert.deepEqual([...queuedOrder].sort((a, b) => a - b), queuedOrder, 'queued oldest first');
});

test('a runner killed mid-test: the commit still passes on the other runner, attempts = 2', async (t) => {
  const s = await setup(t);
  // The test blocks the first time it runs (until its runner is killed) and passes the second time.
  const marker = join(s.tmp, 'first-run');
  const script = `#!/bin/sh\nif [ -e '${marker}' ]; then echo second run; exit 0; fi\necho $$ > '${marker}'\necho first run\nexec sleep 60\n`;
  rmSync(join(s.work, 'tests', 'math.test.js'));
  const sha = push(s.work, { 'tests/run.sh': script }, 'slow test');
  const r1 = s.runner('r1');
  const r2 = s.runner('r2');
  await r1.waitForLine(/registered/);
  await r2.waitForLine(/registered/);
  s.observer();
  const group = Number(await waitFor(() => existsSync(marker) && readFileSync(marker, 'utf8').trim(), 'the first run to start'));
  // The killed runner's test process group outlives it; end it when the test ends.
  t.after(() => killGroupOf(group));
  const [, victim] = await s.dispatcher.waitForLine(new RegExp(`job ${sha} \\(tests\\) attempt 1 -> (r[12])`));
  (victim === 'r1' ? r1 : r2).child.kill('SIGKILL');
  const record = await waitForResult(s.results, sha);
  assert.equal(record.status, 'passed');
  assert.equal(record.attempts, 2);
  assert.equal(record.jobs[0].attempts[0].status, 'lost');
  assert.equal(record.jobs[0].attempts[0].runner, victim);
  assert.notEqual(record.runner, victim);
});
