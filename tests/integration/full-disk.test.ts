// Full disks, real ones (issues 11.3 and 11.4): a size-limited tmpfs under
// the dispatcher's --state or --results, filled to the last byte while work
// goes on, then freed. Nothing acknowledged is lost, nothing is shown or sent
// that is not on disk, and work resumes by itself once space returns, with
// no restart. Needs root (mount); says so and does not run without it.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { world } from '../helpers/e2e.js';
import { commitFiles, git } from '../helpers/git-repo.js';
import { mountSmallDisk, smallDiskUnavailable } from '../helpers/small-disk.js';

const skip = smallDiskUnavailable();
if (skip) console.log(`# full-disk tests not run: ${skip}`);
const SLOW_BEATS = ['--heartbeat', '0.5', '--deadline', '5'];

test('a full state disk: nothing is acknowledged or shown that is not durable, the runner is not lost, work resumes by itself', { skip: skip ?? false }, async (t) => {
  const w = world(t);
  const disk = mountSmallDisk(t, w.state, '4m');
  const first = w.push({ 'tests/run.sh': w.scripts.blocking('held') }, 'runs through the outage');
  w.cloneFor();
  const d = await w.dispatcher({ extra: SLOW_BEATS });
  const runner = await w.runner('r1', d);
  const observer = w.observer(d);
  await observer.delivered(first);
  await w.scripts.started('held');

  disk.fill();
  // Ten commits reported during the outage, then a result. Their keel.json makes each record
  // some 60 KB, more than the few bytes the journal's last page may still have room for.
  const env = Object.fromEntries(Array.from({ length: 15 }, (_, i) => [`BIG_${i}`, 'x'.repeat(4000)]));
  const keelJson = JSON.stringify({ jobs: { tests: { env } } });
  const ten = Array.from({ length: 10 }, (_, i) => commitFiles(w.work, { 'tests/run.sh': w.scripts.passing(), 'keel.json': keelJson, 'n.txt': String(i) }, `commit ${i}`));
  git(w.work, 'push', '-q', 'origin', 'main');
  // Log wait kept: only the dispatcher's log says its journal refuses (a status query is refused then, as below).
  await w.until(() => d.count(/journal: cannot write/) > 0, 'the journal to refuse');
  w.scripts.release();
  const spooled = await w.spooled(runner);
  assert.equal(spooled.outcome.status, 'passed');

  const status = await d.keel('status');
  assert.equal(status.code, 2, `a status that cannot be shown durably is refused:\n${status.stdout}${status.stderr}`);
  assert.match(status.stderr, /journal-stalled: the dispatcher cannot write its journal \(ENOSPC/);
  // Not acknowledged, so the observer still holds every one of them.
  await w.until(() => ten.every((sha) => observer.pending().includes(sha)), 'the ten commits to be pending in the observer');
  assert.equal(runner.child.exitCode, null);

  disk.free();
  for (const sha of [first, ...ten]) {
    const record = await w.result(sha);
    assert.equal(record.status, 'passed', `${sha}\n${w.logs()}`);
    assert.equal(record.jobs[0].attempts.length, 1, `${sha} ran once\n${w.logs()}`);
  }
  // Log kept: a runner declared lost, or a result dropped as stale, shows only here.
  assert.equal(d.count(/runner r1 lost|dropped a result for stale lease/), 0, w.logs());
  assert.ok(d.count(/journal: written again/) > 0, w.logs());

  // After a restart every one of them is still known.
  await w.stop(d, 'SIGKILL');
  const again = await w.dispatcher({ port: d.port });
  for (const sha of [first, ...ten]) assert.equal((await again.status(sha)).record?.status, 'passed');
});

test('a full results disk: every byte of every log is written once space returns; what truly had to be dropped is said', { skip: skip ?? false }, async (t) => {
  const w = world(t);
  const disk = mountSmallDisk(t, w.results, '64m');
  const first = w.push({ 'tests/run.sh': w.scripts.passing() }, 'first');
  w.cloneFor();
  const d = await w.dispatcher({ extra: SLOW_BEATS });
  await w.runner('r1', d, { slots: 2 });
  const observer = w.observer(d);
  await observer.delivered(first);
  await w.result(first);

  disk.fill();
  // Ten builds printing 400 KB each, and one printing 10 MB: more than a log may hold in memory (8 MiB).
  const print = (bytes: number) => `#!/bin/sh\nhead -c ${bytes} /dev/zero | tr '\\0' 'x' | fold -w 99\necho end-of-output\n`;
  const ten = Array.from({ length: 10 }, (_, i) => commitFiles(w.work, { 'tests/run.sh': print(400 * 1024), 'n.txt': String(i) }, `prints 400 KB, ${i}`));
  const huge = commitFiles(w.work, { 'tests/run.sh': print(10 * 1024 * 1024) }, 'prints 10 MB');
  git(w.work, 'push', '-q', 'origin', 'main');
  // All finish while the disk is full: their results wait, and say so.
  await w.until(async () => {
    const overview = await d.status();
    return [...ten, huge].every((sha) => overview.builds.some((b) => b.commit === sha && b.status === 'passed' && b.unwritten));
  }, 'every build finished with its files waiting for the disk');

  disk.free();
  for (const sha of ten) {
    const record = await w.result(sha);
    assert.equal(record.status, 'passed');
    const log = readFileSync(join(w.results, `${sha}.log`), 'utf8');
    assert.ok(log.includes('end-of-output'), `${sha}: the log is whole`);
    // The output is x's only; the attempt's header line holds none.
    const output = log.split('').filter((c) => c === 'x').length;
    assert.equal(output, 400 * 1024, `${sha}: every byte of output is in the log`);
    assert.doesNotMatch(w.report(sha), /log gap/);
  }
  await w.result(huge);
  const report = w.report(huge);
  const gaps = [...report.matchAll(/log gap: {2}bytes (\d+)–(\d+) lost: ENOSPC/g)].map((m) => Number(m[2]) - Number(m[1]));
  assert.ok(gaps.length > 0, `the report says which bytes the full disk cost:\n${report.split('--- output')[0]}`);
  // What the test printed: 10 MiB of x's folded at 99, a partial last line, then the end marker.
  const printed = 10 * 1024 * 1024 + Math.floor((10 * 1024 * 1024) / 99) + 'end-of-output\n'.length;
  const log = readFileSync(join(w.results, `${huge}.log`));
  // Keel's own "=== attempt 1 … ===" line is in the log too, or among what was lost.
  const accounted = log.length + gaps.reduce((a, b) => a + b, 0) - printed;
  assert.ok(accounted > 0 && accounted < 200, `every byte is either in the log or counted as lost (off by ${accounted})`);
  assert.ok(log.length > 7 * 1024 * 1024, `what could be held was written (${log.length} bytes)`);
});
