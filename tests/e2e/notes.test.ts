// Git notes (issue 15.1) on real processes and repositories: an observer
// with --notes writes a note of each finished build to origin's
// refs/notes/keel, readable from a fresh clone with no server at all; a
// retried build's note replaces the old one; git-appraise's format on
// refs/notes/devtools/ci; an origin that refuses notes fails no build, and
// what could not be pushed survives an observer restart; a build that
// finishes while the observer is away is noted when it is back.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { world } from '../helpers/e2e.js';
import { git } from '../helpers/git-repo.js';
import { logWithNotes, noteOf } from '../helpers/notes.js';

const BEATS = ['--heartbeat', '0.2', '--deadline', '2'];
const NOTES = ['--notes', '--public-url', 'https://ci.example/keel/'];

test('a finished build gets a note on refs/notes/keel in origin, readable from a fresh clone with git log --notes=keel', async (t) => {
  const w = world(t);
  const sha = w.push({ 'tests/ok.sh': w.scripts.passing() }, 'passes');
  w.cloneFor();
  const d = await w.dispatcher({ extra: BEATS });
  await w.runner('r1', d);
  w.observer(d, { extra: NOTES });
  assert.equal((await w.result(sha)).status, 'passed');
  const note = await w.until(() => noteOf(w.central, sha), `the note of ${sha} in origin`);
  const lines = note.trimEnd().split('\n');
  assert.match(lines[0]!, /^keel: passed 1\/1 job, [\d.]+ s$/, note);
  assert.match(lines[1]!, /^ {2}tests: passed, [\d.]+ s$/, note);
  assert.equal(lines[2], `  https://ci.example/keel/builds/${sha}`);
  assert.equal(lines.length, 3, note);

  const shown = logWithNotes(t, w.central, sha);
  assert.match(shown, /Notes \(keel\):\n {4}keel: passed 1\/1 job/, shown);
  // The clone the observer watches is left as it was: the notes are written in its scratch folder.
  assert.equal(git(w.clone, 'for-each-ref', 'refs/notes/'), '');
});

test('a retried build\'s note replaces the old one', async (t) => {
  const w = world(t);
  const marker = join(w.control, 'ran-once');
  const script = `#!/bin/sh\nif [ -e '${marker}' ]; then echo 'passes now'; exit 0; fi\ntouch '${marker}'\nexit 1\n`;
  const sha = w.push({ 'tests/once.sh': script }, 'fails once');
  w.cloneFor();
  const d = await w.dispatcher({ extra: BEATS });
  await w.runner('r1', d);
  w.observer(d, { extra: NOTES });
  assert.equal((await w.result(sha)).status, 'failed');
  const first = await w.until(() => noteOf(w.central, sha), 'the first note');
  assert.match(first, /^keel: failed 0\/1 job/);
  assert.match(first, /tests: failed, .*exit/);

  const retry = await d.keel('retry', sha);
  assert.equal(retry.code, 0, retry.stdout + retry.stderr);
  const second = await w.until(() => (noteOf(w.central, sha)?.includes('passed') ? noteOf(w.central, sha) : null), 'the note of the second run');
  // Passed on a retry after failing: flaky, in its second run.
  assert.match(second, /^keel: passed 1\/1 job, [\d.]+ s, flaky, run 2\n/, second);
  assert.equal(second.match(/^keel/gm)?.length, 1, `one block, the old one replaced:\n${second}`);
});

test('--notes-format appraise writes git-appraise\'s JSON lines on refs/notes/devtools/ci', async (t) => {
  const w = world(t);
  const sha = w.push({ 'tests/ok.sh': w.scripts.passing() }, 'passes');
  w.cloneFor();
  const d = await w.dispatcher({ extra: BEATS });
  await w.runner('r1', d);
  w.observer(d, { extra: ['--notes', '--notes-format', 'appraise', '--public-url', 'https://ci.example'] });
  await w.result(sha);
  const note = await w.until(() => noteOf(w.central, sha, 'refs/notes/devtools/ci'), 'the appraise note');
  const reports = note.trim().split('\n').map((line) => JSON.parse(line));
  assert.equal(reports.length, 1);
  assert.deepEqual(Object.keys(reports[0]).sort(), ['agent', 'status', 'timestamp', 'url', 'v']);
  assert.equal(reports[0].status, 'success');
  assert.equal(reports[0].agent, 'keel');
  assert.equal(reports[0].v, 0);
  assert.equal(reports[0].url, `https://ci.example/builds/${sha}`);
  assert.match(reports[0].timestamp, /^\d{10}$/);
  assert.equal(noteOf(w.central, sha), null, 'nothing on refs/notes/keel');
});

test('an origin that refuses notes fails no build; the notes wait in --state through an observer restart and are pushed once origin takes them', async (t) => {
  const w = world(t);
  const first = w.push({ 'tests/ok.sh': w.scripts.passing() }, 'first');
  // Origin refuses every notes ref until the hook is gone.
  const hook = join(w.central, 'hooks', 'pre-receive');
  writeFileSync(hook, '#!/bin/sh\nwhile read old new ref; do case "$ref" in refs/notes/*) echo "no notes here" >&2; exit 1;; esac; done\n', { mode: 0o755 });
  w.cloneFor();
  const d = await w.dispatcher({ extra: BEATS });
  await w.runner('r1', d);
  const observer = w.observer(d, { extra: NOTES });
  assert.equal((await w.result(first)).status, 'passed');
  const second = w.push({ 'b.txt': '2' }, 'second');
  assert.equal((await w.result(second)).status, 'passed', 'builds go on while origin refuses notes');
  const queue = join(w.tmp, 'observer-state');
  const queued = () => readdirSync(queue).some((name) => name.endsWith('-notes.json'));
  await w.until(queued, 'the notes queue file');
  await observer.delivered(second);
  assert.equal(noteOf(w.central, first), null);

  await w.stop(observer, 'SIGKILL');
  rmSync(hook);
  w.observer(d, { extra: NOTES });
  for (const sha of [first, second]) await w.until(() => noteOf(w.central, sha), `the note of ${sha} after the restart`);
  assert.ok(existsSync(queue));
});

test('a build that finishes while the observer is away is noted when it comes back', async (t) => {
  const w = world(t);
  const sha = w.push({ 'tests/held.sh': w.scripts.blocking('held') }, 'held');
  w.cloneFor();
  const d = await w.dispatcher({ extra: BEATS });
  await w.runner('r1', d);
  const observer = w.observer(d, { extra: NOTES });
  await observer.delivered(sha);
  await w.scripts.started('held');
  assert.equal((await w.stop(observer)).code, 0);
  w.scripts.release();
  assert.equal((await w.result(sha)).status, 'passed');
  w.observer(d, { extra: NOTES });
  const note = await w.until(() => noteOf(w.central, sha), 'the note, once the observer is back');
  assert.match(note, /^keel: passed/);
});

test('two dispatchers\' worth of builds racing on one notes ref lose no note', async (t) => {
  const w = world(t);
  w.push({ 'tests/ok.sh': w.scripts.passing() }, 'base');
  git(w.work, 'push', '-q', 'origin', 'main:a', 'main:b');
  w.cloneFor();
  const second = `${w.clone}-2`;
  w.cloneFor(w.central, second);
  await Promise.all(['a', 'b'].map(async (branch) => {
    const d = await w.dispatcher({ extra: [...BEATS, '--state', join(w.tmp, `state-${branch}`), '--results', join(w.tmp, `results-${branch}`)] });
    await w.runner(`r-${branch}`, d, { slots: 2 });
    w.observer(d, { clone: branch === 'a' ? w.clone : second, state: `observer-${branch}`, extra: [...NOTES, '--branch', branch] });
  }));
  const commits: string[] = [];
  for (const branch of ['a', 'b']) {
    git(w.work, 'checkout', '-q', branch);
    for (let i = 0; i < 5; i++) commits.push(w.push({ [`${branch}.txt`]: String(i) }, `${branch} ${i}`, { push: false }));
  }
  git(w.work, 'push', '-q', 'origin', 'a', 'b');
  for (const sha of commits) await w.until(() => noteOf(w.central, sha), `the note of ${sha}`);
});
