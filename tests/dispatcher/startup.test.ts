// A dispatcher that cannot start says why in one line and exits 2.
import { test } from 'node:test';
import { assertStartFails, impossibleFolder } from '../helpers/startup.js';
import { tempDir } from '../helpers/temp.js';

test('a --state that cannot be made is one line and exit 2, no stack', async (t) => {
  const state = impossibleFolder(t);
  await assertStartFails(t, 'dispatcher/main.js', ['--port', '0', '--state', state, '--results', tempDir(t)], /^cannot start the dispatcher on .* with state in .*: ENOTDIR: /);
});

test('a --results that cannot be made is one line and exit 2, no stack', async (t) => {
  const results = impossibleFolder(t);
  await assertStartFails(t, 'dispatcher/main.js', ['--port', '0', '--state', tempDir(t), '--results', results], /^cannot start the dispatcher on .*: ENOTDIR: /);
});
