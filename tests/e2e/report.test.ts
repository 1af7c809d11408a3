// What the report and keel status say of a build of several jobs: which job
// failed and which passed only on a retry, the runners of the build and each
// job's own runner and attempts, Python unittest failures by name, why each
// queued job waits, and a retried build's own duration.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { world } from '../helpers/e2e.js';

const keelJson = (jobs: Record<string, unknown>) => `${JSON.stringify({ jobs }, null, 2)}\n`;

test('a failing job and a flaky one are told apart; the build names its runners, each job its own; unittest failures are named', async (t) => {
  const w = world(t);
  const flakyScript = ['#!/bin/sh', `if [ -e '${w.control}/shaky-ran' ]; then exit 0; fi`, `touch '${w.control}/shaky-ran'`, 'exit 1', ''].join('\n');
  const sha = w.push({
    'keel.json': keelJson({
      good: { run: ['sh', '-c', 'exit 0'] },
      bad: { run: ['python3', '-m', 'unittest', 'discover', '-s', 'pytests', '-v'] },
      shaky: { run: './shaky.sh', retries: 1 },
    }),
    'shaky.sh': flakyScript,
    'pytests/test_math.py': [
      'import unittest', 'class MathTest(unittest.TestCase):', '    def test_adds(self): self.assertEqual(1 + 1, 2)',
      '    def test_multiplies(self): self.assertEqual(2 * 2, 5)', '    def test_divides(self): self.assertEqual(1 / 0, 0)', '',
    ].join('\n'),
  }, 'three jobs');
  w.cloneFor();
  const d = await w.dispatcher();
  await w.runner('r1', d);
  await w.runner('r2', d);
  w.observer(d);
  const record = await w.result(sha);
  assert.equal(record.status, 'failed');
  const bad = record.jobs.find((job: { name: string }) => job.name === 'bad');
  assert.deepEqual([...bad.failedTests].sort(), ['test_math.MathTest.test_divides', 'test_math.MathTest.test_multiplies']);
  assert.deepEqual(bad.counts, { tests: 3, passed: 1, failed: 2, skipped: 0 });

  const report = w.report(sha);
  assert.match(report, /^status: {3}FAILED \(failed: bad; flaky: shaky passed on a retry\)$/m);
  const head = report.slice(0, report.indexOf('\njob '));
  assert.match(head, /^runners: {2}r[12](, r[12])?$/m);
  assert.match(head, /^jobs: {5}3: (?=.*1 failed)(?=.*2 passed)(?=.*1 flaky).*$/m);
  assert.doesNotMatch(head, /^attempts:/m, 'no attempt count across jobs');
  assert.match(report, /^job shaky: PASSED \(FLAKY: passed on a retry\)\n(?:.*\n)*? {2}attempts: 2$/m);
  assert.match(report, /^ {2}failed test: test_math\.MathTest\.test_multiplies$/m);

  const shown = await d.keel('status', sha);
  assert.equal(shown.code, 1);
  assert.match(shown.stdout, /^status: {3}failed \(failed: bad; flaky: shaky passed on a retry\)$/m);
  assert.match(shown.stdout, /^job shaky: passed \(on r[12]; 2 attempt\(s\); flaky: passed on a retry\)$/m);
  // Log kept: the dispatcher's line about a finished build is what an operator reads.
  await d.waitForLine(new RegExp(`finished ${sha}: failed \\(failed: bad; flaky: shaky passed on a retry\\)`));
});

test('every queued job says why it waits; a retried build\'s duration is its own run\'s', async (t) => {
  const w = world(t);
  const sha = w.push({
    'keel.json': keelJson({ a: { run: './block.sh' }, b: { run: ['true'] }, c: { run: ['true'] } }),
    'block.sh': w.scripts.blocking('block'),
  }, 'three jobs, one slot');
  w.cloneFor();
  const d = await w.dispatcher();
  await w.runner('r1', d);
  w.observer(d);
  await w.scripts.started('block');
  const shown = await d.keel('status', sha);
  assert.equal(shown.code, 0, shown.stderr);
  assert.match(shown.stdout, /^job b: queued \(0 attempt\(s\); all 1 runner busy\)$/m);
  assert.match(shown.stdout, /^job c: queued \(0 attempt\(s\); all 1 runner busy\)$/m);
  const overview = await d.status();
  assert.equal(overview.builds.find((b) => b.commit === sha)?.note, 'all 1 runner busy', 'a running build with queued jobs says why they wait');
  w.scripts.release();
  const first = await w.result(sha);
  const firstStart = Date.parse(first.startedAt);

  const retried = await d.keel('retry', sha);
  assert.equal(retried.code, 0, retried.stderr);
  const second = await w.result(sha, { check: (record) => record.run === 2 });
  assert.equal(second.status, 'passed');
  const runTwo = second.jobs.flatMap((job: { attempts: Array<{ run?: number; startedAt: string }> }) => job.attempts).filter((a: { run?: number }) => a.run === 2);
  assert.equal(runTwo.length, 3);
  assert.equal(second.startedAt, runTwo.map((a: { startedAt: string }) => a.startedAt).sort()[0], 'started with its own first attempt');
  assert.ok(Date.parse(second.startedAt) > Date.parse(first.endedAt), 'after the first run ended');
  assert.equal(second.durationMs, Date.parse(second.endedAt) - Date.parse(second.startedAt));
  assert.ok(second.durationMs < Date.parse(second.endedAt) - firstStart, 'not the time since the first run started');
  assert.equal(second.jobs[0].attempts.length, 2, 'the first run stays on record');
});
