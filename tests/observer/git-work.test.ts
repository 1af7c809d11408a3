// GitWork.resolveRef on real repositories: a bare origin and a clone of it,
// origin read in place when it is a folder, the clone's view of it when not.
import assert from 'node:assert/strict';
import { renameSync } from 'node:fs';
import { dirname } from 'node:path';
import { pathToFileURL } from 'node:url';
import { test, type TestContext } from 'node:test';
import { parseObserverConfig } from '../../src/observer/config.js';
import { GitWork } from '../../src/observer/git-work.js';
import { commitFiles, git, makeCentralAndClone, makeRepo } from '../helpers/git-repo.js';
import { tempDir } from '../helpers/temp.js';

/** origin with one commit on main, a clone of it, and a work repo that pushes to origin. */
function originAndClone(t: TestContext) {
  const { central, clone, work } = makeCentralAndClone(t);
  const first = commitFiles(work, { 'a.txt': '1' }, 'first');
  git(work, 'push', '-q', 'origin', 'main');
  git(dirname(clone), 'clone', '-q', central, clone);
  return { central, clone, work, first };
}

async function gitWorkOf(t: TestContext, clone: string): Promise<GitWork> {
  return new GitWork(await parseObserverConfig(['--state', tempDir(t), clone]));
}

test('origin in a folder is read in place: a push is seen before any fetch, any ref, tags peeled', async (t) => {
  const { central, clone, work, first } = originAndClone(t);
  const gitWork = await gitWorkOf(t, clone);
  assert.equal(await gitWork.resolveRef('refs/heads/main'), first);

  const second = commitFiles(work, { 'a.txt': '2' }, 'second');
  git(work, 'push', '-q', 'origin', 'main', `${second}:refs/keel/land/7`);
  git(work, 'tag', '-a', '-m', 'release', 'v1', first);
  git(work, 'push', '-q', 'origin', 'v1');
  assert.equal(await gitWork.resolveRef('refs/heads/main'), second, 'no fetch needed');
  assert.equal(git(clone, 'rev-parse', 'refs/remotes/origin/main'), first, 'the clone was not fetched');
  assert.equal(await gitWork.resolveRef('refs/keel/land/7'), second);
  assert.equal(await gitWork.resolveRef('refs/tags/v1'), first, 'an annotated tag names its commit');
  assert.equal(git(central, 'cat-file', '-t', 'refs/tags/v1'), 'tag');

  assert.equal(await gitWork.resolveRef('refs/heads/nope'), null);
  // Only that exact ref: not a folder of refs, nor what rev-parse would guess.
  assert.equal(await gitWork.resolveRef('refs/heads'), null);
  git(work, 'push', '-q', 'origin', `${first}:refs/heads/refs/heads/guess`);
  assert.equal(await gitWork.resolveRef('refs/heads/guess'), null);
});

test('origin by URL: the clone\'s refs/remotes/origin, as last fetched; only branches are there', async (t) => {
  const { central, clone, work, first } = originAndClone(t);
  git(clone, 'remote', 'set-url', 'origin', pathToFileURL(central).href);
  const config = await parseObserverConfig(['--state', tempDir(t), clone]);
  assert.equal(config.originGitDir, null);
  const gitWork = new GitWork(config);

  const second = commitFiles(work, { 'a.txt': '2' }, 'second');
  git(work, 'push', '-q', 'origin', 'main', `${second}:refs/keel/land/7`);
  assert.equal(await gitWork.resolveRef('refs/heads/main'), first, 'not fetched yet');
  git(clone, 'fetch', '-q', 'origin');
  assert.equal(await gitWork.resolveRef('refs/heads/main'), second);
  assert.equal(await gitWork.resolveRef('refs/keel/land/7'), null);
  assert.equal(await gitWork.resolveRef('refs/heads/nope'), null);
});

test('an origin folder that cannot be read falls back to the clone\'s view of it', async (t) => {
  const { central, clone, first } = originAndClone(t);
  const gitWork = await gitWorkOf(t, clone);
  renameSync(central, `${central}.moved`);
  assert.equal(await gitWork.resolveRef('refs/heads/main'), first);
});

test('with no origin the clone is the repository', async (t) => {
  const repo = makeRepo(t);
  const head = commitFiles(repo, { 'a.txt': '1' });
  const gitWork = await gitWorkOf(t, repo);
  assert.equal(await gitWork.resolveRef('refs/heads/main'), head);
  assert.equal(await gitWork.resolveRef('refs/heads/other'), null);
});

test('a ref that is not a full, well-formed ref name never reaches git', async (t) => {
  const gitWork = await gitWorkOf(t, makeRepo(t));
  for (const ref of ['main', '--all', 'refs/heads/a..b', 'refs/heads/*', 'refs/heads/x\nrefs/heads/y', '']) {
    await assert.rejects(gitWork.resolveRef(ref), /^Error: refusing to pass .* to git: not a full ref name$/, JSON.stringify(ref));
  }
});
