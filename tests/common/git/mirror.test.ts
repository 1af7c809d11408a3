// A bare mirror per repository: borrowed objects for a local folder, a fetch
// for a URL.
import { strict as assert } from 'node:assert';
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { test } from 'node:test';
import { Mirrors } from '../../../src/common/git/mirror.js';
import { WorktreePool } from '../../../src/common/git/worktree-pool.js';
import { TEST_GIT } from '../../helpers/git-context.js';
import { commitFiles, git, makeRepo } from '../../helpers/git-repo.js';
import { tempDir } from '../../helpers/temp.js';

test('a repository in a local folder lends its objects to the mirror: a new commit is there with no fetch', async (t) => {
  const repo = makeRepo(t);
  const first = commitFiles(repo, { 'a.txt': 'one\n' }, 'first');
  const workdir = tempDir(t);
  const mirrors = new Mirrors(workdir, TEST_GIT);
  const mirror = await mirrors.ensureCommit(repo, first);
  assert.equal(readFileSync(join(mirror, 'objects', 'info', 'alternates'), 'utf8'), `${join(realpathSync(repo), '.git', 'objects')}\n`);
  const second = commitFiles(repo, { 'a.txt': 'two\n' }, 'second');
  await mirrors.ensureCommit(repo, second);
  assert.equal(git(mirror, 'for-each-ref'), '', 'nothing was fetched into the mirror');
  const worktree = await new WorktreePool({ workdir, mirrors, git: TEST_GIT }).checkout(mirror, second);
  assert.equal(readFileSync(join(worktree, 'a.txt'), 'utf8'), 'two\n');
});

test('a repository named by URL is fetched into a mirror of its own', async (t) => {
  const repo = makeRepo(t);
  const sha = commitFiles(repo, { 'a.txt': 'one\n' }, 'first');
  const mirrors = new Mirrors(tempDir(t), TEST_GIT);
  const mirror = await mirrors.ensureCommit(pathToFileURL(repo).href, sha);
  assert.equal(existsSync(join(mirror, 'objects', 'info', 'alternates')), false);
  assert.equal(git(mirror, 'rev-parse', 'refs/heads/main'), sha);
  assert.deepEqual(await mirrors.list(), [mirror]);
});
