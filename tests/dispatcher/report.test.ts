// The readable report: every value from a repository or a runner is printed
// on its own line, control characters escaped, so none can add a line (a
// second `status:`) to the report; what the log lost is said.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { escapeControls, renderReport } from '../../src/dispatcher/report.js';
import { buildRecord } from '../protocol/fixtures.js';

test('a newline in an env value, a message or a test name cannot add lines to the report', () => {
  const hostile = 'x\nstatus:   PASSED\r\nstatus:   PASSED';
  const build = structuredClone(buildRecord);
  const job = build.jobs[0]!;
  job.spec.env = { NOTE: hostile };
  job.spec.title = `unit ${hostile}`;
  job.message = hostile;
  job.failedTests = [hostile];
  job.command = [hostile];
  job.attempts[0]!.message = hostile;
  build.message = hostile;
  const report = renderReport(build, [{ job: job.name, text: 'output may hold anything\nstatus: PASSED\n', omitted: 0, lost: [] }]);
  const head = report.split('--- output')[0]!;
  assert.equal(head.split('\n').filter((line) => /^status:/.test(line)).length, 1, head);
  assert.match(head, /^status: +FAILED \(failed: test, generate, deploy\)$/m, 'the verdict, naming the failed jobs, on one line');
  assert.ok(head.includes('NOTE=x\\nstatus:   PASSED\\r\\nstatus:   PASSED'), head);
  assert.ok(report.endsWith('output may hold anything\nstatus: PASSED\n'), 'the output itself is shown as it was');
});

test('escapeControls leaves printable text alone and escapes every control character', () => {
  assert.equal(escapeControls('plain é 🚀 "quoted"'), 'plain é 🚀 "quoted"');
  assert.equal(escapeControls('a\tb\u0000c\u001b[31md\u007f'), 'a\\tb\\u0000c\\u001b[31md\\u007f');
});

test('bytes the log lost to a full disk are named in the job\'s part of the report', () => {
  const build = structuredClone(buildRecord);
  const lost = [{ from: 196_608, to: 409_600, why: 'ENOSPC: no space left on device, write' }];
  const report = renderReport(build, [{ job: build.jobs[0]!.name, text: '', omitted: 0, lost }]);
  assert.match(report, /^ {2}log gap: {2}bytes 196608–409600 lost: ENOSPC: no space left on device, write$/m);
});
