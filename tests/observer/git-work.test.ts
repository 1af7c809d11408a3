// GitWork.resolveRef and locateCommit on real repositories: a bare origin
// and a clone of it, origin read in place when it is a folder, the clone's
// view of it when not.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
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

/**
 * Two commit objects whose ids share their first 7 hex digits: parentless
 * commits of the empty tree that differ only in their message, searched for
 * by hashing them here (a collision of 28 bits comes within some 20,000).
 */
function collidingCommits(): [string, string] {
  const seen = new Map<string, string>();
  for (let i = 0; ; i += 1) {
    const body = `tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\nauthor Keel Test <test@keel.invalid> 1700000000 +0000\ncommitter Keel Test <test@keel.invalid> 1700000000 +0000\n\ncollide ${i}\n`;
    const id = createHash('sha1').update(`commit ${Buffer.byteLength(body)}\0${body}`).digest('hex');
    const other = seen.get(id.slice(0, 7));
    if (other !== undefined) return [other, body];
    seen.set(id.slice(0, 7), body);
  }
}

test('locateCommit: a short id names the commit and a branch that has it (its head first, then main), or says why not', async (t) => {
  const { central, clone, work, first } = originAndClone(t);
  const second = commitFiles(work, { 'a.txt': '2' }, 'second');
  git(work, 'push', '-q', 'origin', 'main', `${first}:refs/heads/old`, `${second}:refs/heads/topic`);
  const gitWork = await gitWorkOf(t, clone);
  assert.deepEqual(await gitWork.locateCommit(first.slice(0, 7)), { kind: 'found', commit: first, ref: 'refs/heads/old' }, 'the branch whose head it is');
  assert.deepEqual(await gitWork.locateCommit(second), { kind: 'found', commit: second, ref: 'refs/heads/main' }, 'main before topic');
  assert.deepEqual(await gitWork.locateCommit('0000000'), { kind: 'none' });
  await assert.rejects(gitWork.locateCommit('--all'), /not a commit id/);

  const tree = git(central, 'rev-parse', `${first}^{tree}`);
  const dangling = git(central, 'commit-tree', tree, '-m', 'on no branch');
  assert.deepEqual(await gitWork.locateCommit(dangling.slice(0, 9)), { kind: 'nowhere', commit: dangling });

  const ids = collidingCommits().map((body) => execFileSync('git', ['hash-object', '-t', 'commit', '-w', '--stdin'], { cwd: central, input: body, encoding: 'utf8' }).trim());
  assert.equal(ids[0]!.slice(0, 7), ids[1]!.slice(0, 7));
  assert.deepEqual(await gitWork.locateCommit(ids[0]!.slice(0, 7)), { kind: 'ambiguous', commits: [...ids].sort(), more: false });
  assert.equal((await gitWork.locateCommit(ids[0]!)).kind, 'nowhere', 'the whole id is not ambiguous');
});
