// Worktrees are reused between jobs of a repository, and each job still
// starts from exactly its commit with nothing of the last run left.
import { strict as assert } from 'node:assert';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { Mirrors } from '../../../src/common/git/mirror.js';
import { WorktreePool } from '../../../src/common/git/worktree-pool.js';
import { TEST_GIT } from '../../helpers/git-context.js';
import { commitFiles, makeRepo } from '../../helpers/git-repo.js';
import { tempDir } from '../../helpers/temp.js';

function poolIn(workdir: string): { mirrors: Mirrors; pool: WorktreePool } {
  const mirrors = new Mirrors(workdir, TEST_GIT);
  return { mirrors, pool: new WorktreePool({ workdir, mirrors, git: TEST_GIT }) };
}

test('a released worktree is reset to the next commit, with leftovers cleaned away', async (t) => {
  const repo = makeRepo(t);
  const first = commitFiles(repo, { 'a.txt': 'one\n', '.gitignore': 'build/\n' }, 'first');
  const second = commitFiles(repo, { 'a.txt': 'two\n', 'b.txt': 'new\n' }, 'second');
  const { mirrors, pool } = poolIn(tempDir(t));
  const mirror = await mirrors.ensureCommit(repo, first);
  await mirrors.ensureCommit(repo, second);

  const worktree = await pool.checkout(mirror, first);
  assert.equal(readFileSync(join(worktree, 'a.txt'), 'utf8'), 'one\n');
  // What a test run might leave behind: a changed tracked file, untracked and ignored files.
  writeFileSync(join(worktree, 'a.txt'), 'changed by the test\n');
  writeFileSync(join(worktree, 'stray.txt'), 'x');
  writeFileSync(join(worktree, '.gitignore'), 'build/\n');
  pool.release(mirror, worktree);

  const again = await pool.checkout(mirror, second);
  assert.equal(again, worktree, 'the same worktree is reused');
  assert.equal(readFileSync(join(again, 'a.txt'), 'utf8'), 'two\n');
  assert.equal(readFileSync(join(again, 'b.txt'), 'utf8'), 'new\n');
  assert.equal(existsSync(join(again, 'stray.txt')), false, 'untracked files are cleaned');

  // Two jobs at once get two worktrees.
  const other = await pool.checkout(mirror, first);
  assert.notEqual(other, again);
  assert.equal(readFileSync(join(other, 'a.txt'), 'utf8'), 'one\n');
});

test('worktrees left by an earlier run are removed at start', async (t) => {
  const repo = makeRepo(t);
  const sha = commitFiles(repo, { 'a.txt': 'one\n' }, 'first');
  const workdir = tempDir(t);
  const before = poolIn(workdir);
  const mirror = await before.mirrors.ensureCommit(repo, sha);
  await before.pool.checkout(mirror, sha);
  assert.equal(readdirSync(join(workdir, 'worktrees')).length, 1);
  await poolIn(workdir).pool.removeStale();
  assert.equal(existsSync(join(workdir, 'worktrees')), false);
});
