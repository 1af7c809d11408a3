// A branch new to the observer builds its head, not its history: the first
// push of a project into an empty central repository, and a branch watched
// with --branch before it existed. Every commit a known branch gains is
// still built.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, realpathSync } from 'node:fs';
import { test } from 'node:test';
import { cursorPath } from '../../src/observer/cursor.js';
import { world } from '../helpers/e2e.js';
import { git } from '../helpers/git-repo.js';
import { manyCommits } from '../helpers/many-commits.js';
import { join } from 'node:path';

const PASSING = { 'tests/ok.sh': '#!/bin/sh\necho ok\n' };

test('a first push of 1,000 commits into an empty central repository builds one: its head', async (t) => {
  const w = world(t);
  // The observer's clone of a repository that has nothing yet.
  w.cloneFor();
  const dispatcher = await w.dispatcher();
  await w.runner('r1', dispatcher);
  const stateDir = join(w.tmp, 'observer-state');
  const observer = w.observer(dispatcher, { state: 'observer-state' });
  // Its first scan has run (and found no branch) once its cursor is on disk.
  await w.until(() => existsSync(cursorPath(stateDir, realpathSync(w.clone))), 'the observer\'s first scan');

  const shas = manyCommits(w.work, 1000, { files: PASSING });
  git(w.work, 'push', '-q', 'origin', 'main');
  const head = shas.at(-1)!;
  assert.equal((await w.result(head)).status, 'passed');
  await observer.delivered(head);

  const status = await dispatcher.status();
  assert.deepEqual(status.builds.map((b) => b.commit), [head], 'one build, of the head');
  assert.equal(status.queued, 0);
  assert.deepEqual(readdirSync(w.results).filter((f) => !f.startsWith(head)), [], 'no other commit has result files');
  // Log kept: that the history was passed over on purpose shows only in the observer's log.
  assert.ok(observer.lines.some((line) => line.includes(`branch main is new: reporting only its head ${head}, not the 999 commit(s) before it`)), observer.lines.join('\n'));

  // From now on main is known: every commit it gains is built.
  const more = manyCommits(w.work, 3);
  git(w.work, 'push', '-q', 'origin', 'main');
  for (const sha of more) assert.equal((await w.result(sha)).status, 'passed');
});

test('a branch watched with --branch before it existed builds only its head when it is first pushed', async (t) => {
  const w = world(t);
  const main = w.push(PASSING, 'main');
  w.cloneFor();
  const dispatcher = await w.dispatcher();
  await w.runner('r1', dispatcher);
  const observer = w.observer(dispatcher, { extra: ['--branch', 'release'] });
  await w.until(() => existsSync(cursorPath(join(w.tmp, 'observer-state'), realpathSync(w.clone))), 'the observer\'s first scan');

  git(w.work, 'checkout', '-q', '-b', 'release');
  const shas = manyCommits(w.work, 50, { branch: 'release' });
  git(w.work, 'push', '-q', 'origin', 'release');
  const head = shas.at(-1)!;
  const record = await w.result(head);
  assert.equal(record.ref, 'refs/heads/release');
  await observer.delivered(head, 'release');
  const built = (await dispatcher.status()).builds.map((b) => b.commit);
  assert.deepEqual(built, [head], `neither main (${main}), which is not watched, nor the release branch's history`);
});
