// A runner that cannot start says why in one line and exits 2.
import { test } from 'node:test';
import { assertStartFails, impossibleFolder } from '../helpers/startup.js';

test('a --workdir that cannot be made is one line and exit 2, no stack', async (t) => {
  const workdir = impossibleFolder(t);
  await assertStartFails(t, 'runner/main.js', ['--workdir', workdir, '--dispatcher', '127.0.0.1:9'], new RegExp(`^--workdir must be a folder the runner can write, got "${workdir}" \\(ENOTDIR: `));
});

test('a bad flag is still its one line and exit 2', async (t) => {
  await assertStartFails(t, 'runner/main.js', ['--slots', 'many'], /^--slots must be a whole number from 1 to 256, got "many"$/);
});
