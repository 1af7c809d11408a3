// Reading what keel patch sends, from what git format-patch and git diff
// really write (in a temp repository) and from hand-made mail.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { PatchError, readSeries } from '../../src/dispatcher/patches/mbox.js';
import { commitFiles, git, makeRepo } from '../helpers/git-repo.js';

function topic(t: Parameters<typeof makeRepo>[0]): string {
  const repo = makeRepo(t);
  commitFiles(repo, { 'src.txt': 'one\n-- a line that looks like a header\n' }, 'base');
  git(repo, 'checkout', '-q', '-b', 'topic');
  commitFiles(repo, { 'src.txt': 'one\n' }, 'Drop the odd line');
  writeFileSync(join(repo, 'tests.t'), 'exit 0\n');
  git(repo, 'add', '-A');
  git(repo, '-c', 'user.name=Zoë Ünicode', '-c', 'user.email=zoe@example.org', 'commit', '-q', '--author=Zoë Ünicode <zoe@example.org>', '-m', 'Add a tést');
  return repo;
}

test('a format-patch series with a cover letter: its subject, version, parts, Based-on and files', (t) => {
  const repo = topic(t);
  let mbox = git(repo, 'format-patch', '--stdout', '--cover-letter', '-v3', 'main..topic');
  mbox = mbox.replace('*** SUBJECT HERE ***', 'Tidy up src').replace('*** BLURB HERE ***', 'Two changes.\n\nBased-on: release/1.x');
  const series = readSeries(Buffer.from(mbox));
  assert.deepEqual(series, {
    format: 'mbox', subject: 'Tidy up src', author: 'Keel Test <test@keel.invalid>', version: 3, parts: 2, cover: true,
    basedOn: 'release/1.x', files: ['src.txt', 'tests.t'],
  });
});

test('without a cover letter the first patch names the series; encoded names are decoded; a removed "-- " line is not a file', (t) => {
  const repo = topic(t);
  const mbox = git(repo, 'format-patch', '--stdout', 'main~0..topic');
  const series = readSeries(Buffer.from(mbox.replace(/\n/g, '\r\n')));
  assert.equal(series.subject, 'Drop the odd line');
  assert.equal(series.version, 1);
  assert.equal(series.parts, 2);
  assert.equal(series.cover, false);
  assert.deepEqual(series.files, ['src.txt', 'tests.t']);
  const second = git(repo, 'format-patch', '--stdout', '-1', 'topic');
  assert.equal(readSeries(Buffer.from(second)).author, 'Zoë Ünicode <zoe@example.org>');
  assert.equal(readSeries(Buffer.from(second)).subject, 'Add a tést');
});

test('plain diffs: git diff, and diff -u with dates, with --- lines of content left alone', (t) => {
  const repo = topic(t);
  const gitDiff = readSeries(Buffer.from(git(repo, 'diff', 'main', 'topic')));
  assert.deepEqual([gitDiff.format, gitDiff.subject, gitDiff.files], ['diff', null, ['src.txt', 'tests.t']]);
  const unified = '--- a/src.txt\t2024-05-01 12:00:00\n+++ b/src.txt\t2024-05-01 12:01:00\n@@ -1,3 +1,3 @@\n one\n--- removed\n+++ added\n';
  assert.deepEqual(readSeries(Buffer.from(unified)).files, ['src.txt']);
});

test('what is refused, with the reason', (t) => {
  const repo = topic(t);
  commitFiles(repo, { 'logo.bin': '\u0000\u0001binary\u0000' }, 'A logo');
  const cases: Array<[string, string | Buffer, RegExp]> = [
    ['a binary patch', git(repo, 'format-patch', '--stdout', '--binary', '-1', 'HEAD'), /binary patches are not accepted \(logo\.bin\)/],
    ['a binary diff without --binary', git(repo, 'diff', 'HEAD~1', 'HEAD'), /binary patches are not accepted/],
    ['a path above the repository', 'diff --git a/../x b/../x\n--- a/../x\n+++ b/../x\n@@ -1 +1 @@\n-a\n+b\n', /touches \.\.\/x, outside the repository/],
    ['an absolute path', '--- /etc/passwd\n+++ /etc/passwd\n@@ -1 +1 @@\n-a\n+b\n', /touches \/etc\/passwd, outside/],
    ['only a cover letter', 'From abc Mon Sep 17 00:00:00 2001\nFrom: A <a@b>\nSubject: [PATCH 0/2] Cover\n\nJust words.\n', /holds no patch/],
    ['a mail without a diff', 'From abc Mon Sep 17 00:00:00 2001\nFrom: A <a@b>\nSubject: [PATCH] Words\n\nno diff\n', /"Words" has no diff/],
    ['plain text', 'hello\nworld\n', /neither an mbox/],
    ['nothing', '', /neither an mbox/],
  ];
  for (const [name, input, reason] of cases) {
    assert.throws(() => readSeries(Buffer.isBuffer(input) ? input : Buffer.from(input)), (error: unknown) => error instanceof PatchError && reason.test(error.message), name);
  }
});
