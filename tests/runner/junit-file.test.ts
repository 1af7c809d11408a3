import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { LIMITS } from '../../src/protocol/limits.js';

const MAX_JUNIT = LIMITS.junitChars;
import type { RunOutcome } from '../../src/protocol/records.js';
import { attachJunit, readJunitFile } from '../../src/runner/junit-file.js';
import { errorOutcome } from '../../src/runner/outcome.js';
import { tempDir } from '../helpers/temp.js';

const REPORT = '<testsuite><testcase name="a"/><testcase classname="k" name="b"><failure/></testcase></testsuite>';

test('reads a regular file inside the worktree', async (t) => {
  const worktree = tempDir(t);
  mkdirSync(join(worktree, 'reports'));
  writeFileSync(join(worktree, 'reports', 'j.xml'), REPORT);
  assert.deepEqual(await readJunitFile(worktree, 'reports/j.xml'), { kind: 'read', text: REPORT, bytes: REPORT.length });
  assert.deepEqual(await readJunitFile(worktree, './reports/../reports/j.xml'), { kind: 'read', text: REPORT, bytes: REPORT.length });
});

test('missing files and folders are missing, not refused', async (t) => {
  const worktree = tempDir(t);
  assert.deepEqual(await readJunitFile(worktree, 'j.xml'), { kind: 'missing' });
  assert.deepEqual(await readJunitFile(worktree, 'no/such/j.xml'), { kind: 'missing' });
});

test('refuses paths out of the worktree, symlinks, folders, FIFOs and the worktree itself', async (t) => {
  const worktree = tempDir(t);
  const outside = tempDir(t);
  writeFileSync(join(outside, 'secret.xml'), REPORT);
  symlinkSync(join(outside, 'secret.xml'), join(worktree, 'link.xml'));
  symlinkSync(outside, join(worktree, 'out'));
  mkdirSync(join(worktree, 'folder.xml'));
  execFileSync('mkfifo', [join(worktree, 'fifo.xml')]);
  writeFileSync(join(worktree, '..name.xml'), REPORT);
  const refused = async (path: string) => {
    const file = await readJunitFile(worktree, path);
    return file.kind === 'refused' ? file.reason : `not refused: ${file.kind}`;
  };
  assert.equal(await refused('../secret.xml'), 'points outside the worktree');
  assert.equal(await refused('a/../../secret.xml'), 'points outside the worktree');
  assert.equal(await refused('.'), 'points outside the worktree');
  assert.equal(await refused(join(outside, 'secret.xml')), 'is an absolute path');
  assert.equal(await refused('link.xml'), 'is a symlink');
  assert.equal(await refused('out/secret.xml'), 'is in a folder that leads out of the worktree');
  assert.equal(await refused('folder.xml'), 'is not a regular file');
  assert.equal(await refused('fifo.xml'), 'is not a regular file');
  // A name that merely starts with two dots is inside.
  assert.equal((await readJunitFile(worktree, '..name.xml')).kind, 'read');
});

function passed(): RunOutcome {
  return { ...errorOutcome(new Date(), '', false), status: 'passed', exitCode: 0, counts: { tests: 7, passed: 7, failed: 0, skipped: 0 } };
}

test('attachJunit: counts and names from the report; garbage keeps the output counts', async (t) => {
  const worktree = tempDir(t);
  const lines: string[] = [];
  writeFileSync(join(worktree, 'j.xml'), REPORT);
  const withReport = await attachJunit(passed(), worktree, 'j.xml', (line) => lines.push(line));
  assert.deepEqual(withReport.counts, { tests: 2, passed: 1, failed: 1, skipped: 0 });
  assert.deepEqual(withReport.failedTests, ['k.b']);
  assert.equal(withReport.junit, REPORT);
  assert.equal(withReport.status, 'passed', 'the verdict is the exit code');

  writeFileSync(join(worktree, 'junk.xml'), 'not xml');
  const withJunk = await attachJunit(passed(), worktree, 'junk.xml', (line) => lines.push(line));
  assert.deepEqual(withJunk.counts, passed().counts);
  assert.equal(withJunk.junit, 'not xml');
  const missing = await attachJunit(passed(), worktree, 'none.xml', (line) => lines.push(line));
  assert.equal(missing.junit, null);
  assert.deepEqual(lines, ['JUnit file junk.xml is not JUnit XML Keel can read; counts come from the output', 'JUnit file none.xml not found']);
});

test('attachJunit: a report over MAX_JUNIT is parsed for counts but not sent', async (t) => {
  const worktree = tempDir(t);
  const many = '<testcase classname="c" name="ok"/>'.repeat(Math.ceil(MAX_JUNIT / 30));
  writeFileSync(join(worktree, 'big.xml'), `<testsuite>${many}<testcase name="x"><error/></testcase></testsuite>`);
  const lines: string[] = [];
  const outcome = await attachJunit(passed(), worktree, 'big.xml', (line) => lines.push(line));
  assert.equal(outcome.junit, null);
  assert.equal(outcome.counts?.failed, 1);
  assert.ok(outcome.counts!.tests > 8000);
  assert.deepEqual(outcome.failedTests, ['x']);
  assert.match(lines.join('\n'), /^JUnit file big\.xml is \d+ bytes, over the 262144 that travel with the result; not sent$/);
});
