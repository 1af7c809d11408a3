import { strict as assert } from 'node:assert';
import { chmodSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { chooseTestCommand, JUNIT_FILE, NoTestsError } from '../../src/runner/test-command.js';
import { tempDir } from '../helpers/temp.js';

/** Writes each file (path relative to `root`); a mode of 0o755 makes it executable. */
function layout(root: string, files: Record<string, string | { text: string; mode: number }>): void {
  for (const [path, content] of Object.entries(files)) {
    const full = join(root, path);
    mkdirSync(dirname(full), { recursive: true });
    const { text, mode } = typeof content === 'string' ? { text: content, mode: 0o644 } : content;
    writeFileSync(full, text);
    chmodSync(full, mode);
  }
}

const EXEC = { text: '#!/bin/sh\nexit 0\n', mode: 0o755 };

/** TAP to stdout for the log and counts, JUnit to a file for failed test names. */
const REPORTERS = [
  '--test-reporter=tap', '--test-reporter-destination=stdout',
  '--test-reporter=junit', `--test-reporter-destination=${JUNIT_FILE}`,
];

async function rejectsNoTests(worktree: string, message: RegExp): Promise<void> {
  await assert.rejects(chooseTestCommand(worktree), (error: unknown) => {
    assert.ok(error instanceof NoTestsError);
    assert.equal(error.name, 'NoTestsError');
    assert.equal(error.code, 'no-tests');
    assert.match(error.message, message);
    return true;
  });
}

test('no tests/ directory', async (t) => {
  const worktree = tempDir(t);
  await rejectsNoTests(worktree, /^no tests\/ directory$/);
  writeFileSync(join(worktree, 'tests'), 'a file, not a folder');
  await rejectsNoTests(worktree, /^no tests\/ directory$/);
});

test('empty tests/ directory', async (t) => {
  const worktree = tempDir(t);
  mkdirSync(join(worktree, 'tests', 'empty-subfolder'), { recursive: true });
  await rejectsNoTests(worktree, /^nothing to run in tests\/$/);
});

test('tests/ that is a symlink is not followed', async (t) => {
  const worktree = tempDir(t);
  const outside = tempDir(t);
  layout(outside, { 'a.test.js': '' });
  symlinkSync(outside, join(worktree, 'tests'));
  await rejectsNoTests(worktree, /symlink/);
});

test('node test files by name, recursively, sorted, with this node', async (t) => {
  const worktree = tempDir(t);
  layout(worktree, {
    'tests/z.test.js': '',
    'tests/unit/b-test.mjs': '',
    'tests/unit/c_test.cjs': '',
    'tests/test.js': '',
    'tests/test-a.js': '',
    'tests/helper.js': '',
    'tests/node_modules/dep/x.test.js': '',
    'tests/.cache/y.test.js': '',
    'tests/run.sh': EXEC,
    'tests/test_also.py': '',
  });
  const plan = await chooseTestCommand(worktree);
  assert.deepEqual(plan.steps, [
    [process.execPath, '--test', ...REPORTERS, 'tests/test-a.js', 'tests/test.js', 'tests/unit/b-test.mjs', 'tests/unit/c_test.cjs', 'tests/z.test.js'],
  ]);
  assert.match(plan.description, /node --test \(5 files\)/);
  assert.equal(plan.junit, JUNIT_FILE);
});

test('without test-named files, .js files directly in tests/ are the tests', async (t) => {
  const worktree = tempDir(t);
  layout(worktree, { 'tests/one.js': '', 'tests/two.mjs': '', 'tests/lib/helper.js': '', 'tests/notes.md': '' });
  const plan = await chooseTestCommand(worktree);
  assert.deepEqual(plan.steps, [[process.execPath, '--test', ...REPORTERS, 'tests/one.js', 'tests/two.mjs']]);
});

test('symlinked test files and folders are skipped', async (t) => {
  const worktree = tempDir(t);
  const outside = tempDir(t);
  layout(outside, { 'evil.test.js': '', 'dir/also.test.js': '', 'run': EXEC });
  layout(worktree, { 'tests/real.test.js': '' });
  symlinkSync(join(outside, 'evil.test.js'), join(worktree, 'tests', 'evil.test.js'));
  symlinkSync(join(outside, 'dir'), join(worktree, 'tests', 'dir'));
  const plan = await chooseTestCommand(worktree);
  assert.deepEqual(plan.steps, [[process.execPath, '--test', ...REPORTERS, 'tests/real.test.js']]);

  // A symlinked executable is not run either.
  const other = tempDir(t);
  layout(other, { 'tests/readme.txt': '' });
  symlinkSync(join(outside, 'run'), join(other, 'tests', 'run'));
  await rejectsNoTests(other, /nothing to run in tests\/: found 1 file \(tests\/readme.txt\)/);
});

test('python: test*.py anywhere under tests/', async (t) => {
  const worktree = tempDir(t);
  layout(worktree, { 'tests/pkg/test_things.py': '', 'tests/conftest.py': '', 'tests/run.sh': EXEC });
  const plan = await chooseTestCommand(worktree);
  assert.deepEqual(plan.steps, [['python3', '-m', 'unittest', 'discover', '-s', 'tests', '-v']]);
  assert.equal(plan.junit, undefined, 'unittest writes no JUnit');
});

test('executables directly in tests/, one step each, sorted, with ./', async (t) => {
  const worktree = tempDir(t);
  layout(worktree, {
    'tests/b-check': EXEC,
    'tests/a check; rm -rf ~': EXEC,
    'tests/c.sh': { text: '#!/bin/sh\n', mode: 0o744 },
    'tests/data.txt': '',
    'tests/sub/deeper': EXEC,
    'tests/helper.py': '',
  });
  const plan = await chooseTestCommand(worktree);
  // The odd name stays one argv entry: nothing here ever reaches a shell.
  assert.deepEqual(plan.steps, [['./tests/a check; rm -rf ~'], ['./tests/b-check'], ['./tests/c.sh']]);
  assert.match(plan.description, /3 executables/);
});

test('nothing runnable: the error says what was found', async (t) => {
  const worktree = tempDir(t);
  layout(worktree, { 'tests/README.md': '', 'tests/data/input.json': '', 'tests/helper.py': '' });
  await rejectsNoTests(
    worktree,
    /^nothing to run in tests\/: found 3 files \(tests\/README.md, tests\/data\/input.json, tests\/helper.py\) but no Node test files, no test\*\.py and no executable files$/,
  );
});
