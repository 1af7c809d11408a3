// `keel <role>` fails to start the way the role's own entry point does.
import { test } from 'node:test';
import { makeRepo } from '../helpers/git-repo.js';
import { assertStartFails, impossibleFolder } from '../helpers/startup.js';

test('keel runner with a --workdir that cannot be made is one line and exit 2', async (t) => {
  await assertStartFails(t, 'cli/main.js', ['runner', '--workdir', impossibleFolder(t)], /^--workdir must be a folder the runner can write/);
});

test('keel observer with a --state that cannot be made is one line and exit 2', async (t) => {
  await assertStartFails(t, 'cli/main.js', ['observer', '--state', impossibleFolder(t), makeRepo(t)], /^--state must be a folder the observer can write/);
});

test('keel status with no dispatcher there is one line and exit 2', async (t) => {
  await assertStartFails(t, 'cli/main.js', ['status', '--dispatcher', '127.0.0.1:9'], /^cannot reach dispatcher at 127\.0\.0\.1:9: /);
});
