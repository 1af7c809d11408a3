// Worktrees are reused between jobs of a repository, and each job still
// starts from exactly its commit with nothing of the last run left.
import { strict as assert } from 'node:assert';
import { existsSync, readdirSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { test } from 'node:test';
import { Mirrors } from '../../src/common/mirrors.js';
import { commitFiles, git, makeRepo } from '../helpers/git-repo.js';
import { tempDir } from '../helpers/temp.js';

test('a released worktree is reset to the next commit, with leftovers cleaned away', async (t) => {
  const repo = makeRepo(t);
  const first = commitFiles(repo, { 'a.txt': 'one\n', '.gitignore': 'build/\n' }, 'first');
  const second = commitFiles(repo, { 'a.txt': 'two\n', 'b.txt': 'new\n' }, 'second');
  const mirrors = new Mirrors(tempDir(t));
  const mirror = await mirrors.ensureCommit(repo, first);
  await mirrors.ensureCommit(repo, second);

  const worktree = await mirrors.checkout(mirror, first);
  assert.equal(readFileSync(join(worktree, 'a.txt'), 'utf8'), 'one\n');
  // What a test run might leave behind: a changed tracked file, untracked and ignored files.
  writeFileSync(join(worktree, 'a.txt'), 'changed by the test\n');
  writeFileSync(join(worktree, 'stray.txt'), 'x');
  writeFileSync(join(worktree, '.gitignore'), 'build/\n');
  mirrors.release(mirror, worktree);

  const again = await mirrors.checkout(mirror, second);
  assert.equal(again, worktree, 'the same worktree is reused');
  assert.equal(readFileSync(join(again, 'a.txt'), 'utf8'), 'two\n');
  assert.equal(readFileSync(join(again, 'b.txt'), 'utf8'), 'new\n');
  assert.equal(existsSync(join(again, 'stray.txt')), false, 'untracked files are cleaned');

  // Two jobs at once get two worktrees.
  const other = await mirrors.checkout(mirror, first);
  assert.notEqual(other, again);
  assert.equal(readFileSync(join(other, 'a.txt'), 'utf8'), 'one\n');
});

test('worktrees left by an earlier run are removed at start', async (t) => {
  const repo = makeRepo(t);
  const sha = commitFiles(repo, { 'a.txt': 'one\n' }, 'first');
  const workdir = tempDir(t);
  const before = new Mirrors(workdir);
  const mirror = await before.ensureCommit(repo, sha);
  await before.checkout(mirror, sha);
  assert.equal(readdirSync(join(workdir, 'worktrees')).length, 1);
  await new Mirrors(workdir).removeStaleWorktrees();
  assert.equal(existsSync(join(workdir, 'worktrees')), false);
});

test('a repository in a local folder lends its objects to the mirror: a new commit is there with no fetch', async (t) => {
  const repo = makeRepo(t);
  const first = commitFiles(repo, { 'a.txt': 'one\n' }, 'first');
  const mirrors = new Mirrors(tempDir(t));
  const mirror = await mirrors.ensureCommit(repo, first);
  assert.equal(readFileSync(join(mirror, 'objects', 'info', 'alternates'), 'utf8'), `${join(realpathSync(repo), '.git', 'objects')}\n`);
  const second = commitFiles(repo, { 'a.txt': 'two\n' }, 'second');
  await mirrors.ensureCommit(repo, second);
  assert.equal(git(mirror, 'for-each-ref'), '', 'nothing was fetched into the mirror');
  const worktree = await mirrors.checkout(mirror, second);
  assert.equal(readFileSync(join(worktree, 'a.txt'), 'utf8'), 'two\n');
});

test('a repository named by URL is fetched into a mirror of its own', async (t) => {
  const repo = makeRepo(t);
  const sha = commitFiles(repo, { 'a.txt': 'one\n' }, 'first');
  const mirrors = new Mirrors(tempDir(t));
  const mirror = await mirrors.ensureCommit(pathToFileURL(repo).href, sha);
  assert.equal(existsSync(join(mirror, 'objects', 'info', 'alternates')), false);
  assert.equal(git(mirror, 'rev-parse', 'refs/heads/main'), sha);
});
