// An observer that cannot start says why in one line and exits 2.
import { mkdirSync, realpathSync } from 'node:fs';
import { test } from 'node:test';
import { cursorPath } from '../../src/observer/cursor.js';
import { makeRepo } from '../helpers/git-repo.js';
import { assertStartFails, impossibleFolder } from '../helpers/startup.js';
import { tempDir } from '../helpers/temp.js';

test('a --state that cannot be made is one line and exit 2, no stack', async (t) => {
  const state = impossibleFolder(t);
  await assertStartFails(t, 'observer/main.js', ['--state', state, makeRepo(t)], /^--state must be a folder the observer can write, got ".*folder" \(ENOTDIR: /);
});

test('a cursor file that cannot be read is one line and exit 2', async (t) => {
  const repo = makeRepo(t);
  const state = tempDir(t);
  mkdirSync(cursorPath(state, realpathSync(repo)));
  await assertStartFails(t, 'observer/main.js', ['--state', state, repo], /^cannot read cursor file .*: EISDIR: /);
});
