// Finding new commits, in-process against real repositories.
import assert from 'node:assert/strict';
import { dirname } from 'node:path';
import { test } from 'node:test';
import { fetchOrigin, listNewCommits, readBranchHeads } from '../../src/observer/git-refs.js';
import { findNewCommits, type ListCommits } from '../../src/observer/scan.js';
import { TEST_GIT } from '../helpers/git-context.js';
import { commitFiles, git, makeCentralAndClone, makeRepo } from '../helpers/git-repo.js';

function commits(repo: string, count: number, prefix: string): string[] {
  return Array.from({ length: count }, (_, i) => commitFiles(repo, { [`${prefix}.txt`]: String(i) }, `${prefix} ${i}`));
}

async function scanOf(repo: string, previous: Map<string, string> | null, limit?: number) {
  const { heads } = await readBranchHeads(TEST_GIT, { clone: repo, hasOrigin: false });
  const list: ListCommits = (head, exclude, max) => listNewCommits(TEST_GIT, repo, head, exclude, max);
  return findNewCommits({ previous, heads, list, ...(limit === undefined ? {} : { limit }) });
}

test('the first run reports each head once and no history', async (t) => {
  const repo = makeRepo(t);
  const [, main] = commits(repo, 2, 'main');
  git(repo, 'branch', 'same-as-main');
  const result = await scanOf(repo, null);
  assert.deepEqual(result.found, [{ commit: main, branch: 'main' }]);
  assert.deepEqual(result.branches, new Map([['main', main], ['same-as-main', main]]));
});

test('a known branch reports every commit since its cursor, oldest first', async (t) => {
  const repo = makeRepo(t);
  const [base] = commits(repo, 1, 'base');
  const added = commits(repo, 5, 'more');
  const result = await scanOf(repo, new Map([['main', base!]]));
  assert.deepEqual(result.found.map((f) => f.commit), added);
  assert.ok(result.found.every((f) => f.branch === 'main'));
  assert.deepEqual(result.capped, []);
});

test('a merge reports the merged commits with parents before children', async (t) => {
  const repo = makeRepo(t);
  const [base] = commits(repo, 1, 'base');
  git(repo, 'checkout', '-q', '-b', 'topic');
  const topic = commits(repo, 2, 'topic');
  git(repo, 'checkout', '-q', 'main');
  const [onMain] = commits(repo, 1, 'main');
  git(repo, 'merge', '-q', '--no-ff', '-m', 'merge', 'topic');
  const merge = git(repo, 'rev-parse', 'HEAD');
  const { found } = await scanOf(repo, new Map([['main', base!], ['topic', topic[1]!]]));
  const order = found.map((f) => f.commit);
  // Everything new to main, even what topic had: the dispatcher drops repeats.
  assert.deepEqual(new Set(order), new Set([...topic, onMain, merge]));
  assert.ok(order.indexOf(topic[0]!) < order.indexOf(topic[1]!));
  assert.equal(order.at(-1), merge);
});

test('a new branch reports its head only, and counts the commits before it that were not reported', async (t) => {
  const repo = makeRepo(t);
  const [base] = commits(repo, 1, 'base');
  git(repo, 'checkout', '-q', '-b', 'feature');
  const feature = commits(repo, 3, 'feature');
  const result = await scanOf(repo, new Map([['main', base!]]));
  assert.deepEqual(result.found, [{ commit: feature[2], branch: 'feature' }]);
  assert.deepEqual(result.fresh, [{ branch: 'feature', head: feature[2], skipped: 2, more: false }]);
  assert.deepEqual(result.capped, []);
});

test('the first push of a project (an empty cursor) reports its head, not its history', async (t) => {
  const repo = makeRepo(t);
  const history = commits(repo, 30, 'history');
  const result = await scanOf(repo, new Map(), 10);
  assert.deepEqual(result.found, [{ commit: history[29], branch: 'main' }]);
  assert.deepEqual(result.fresh, [{ branch: 'main', head: history[29], skipped: 9, more: true }]);
  assert.deepEqual(result.capped, [], 'a new branch is not capped: it reports one commit');
});

test('a new branch whose head a known branch already has reports nothing', async (t) => {
  const repo = makeRepo(t);
  const [, main] = commits(repo, 2, 'main');
  git(repo, 'branch', 'copy-of-main');
  git(repo, 'branch', 'older', 'HEAD~1');
  const result = await scanOf(repo, new Map([['main', main!]]));
  assert.deepEqual(result.found, []);
  assert.deepEqual(result.fresh, []);
});

test('a new branch off a main that also moved in the same scan: every new commit of main, the head of the branch', async (t) => {
  const repo = makeRepo(t);
  const [base] = commits(repo, 1, 'base');
  const moved = commits(repo, 2, 'moved');
  git(repo, 'checkout', '-q', '-b', 'feature');
  const feature = commits(repo, 2, 'feature');
  const { found } = await scanOf(repo, new Map([['main', base!]]));
  assert.deepEqual(found, [...moved.map((commit) => ({ commit, branch: 'main' })), { commit: feature[1], branch: 'feature' }]);
});

test('two new branches each report their head', async (t) => {
  const repo = makeRepo(t);
  const [base] = commits(repo, 1, 'base');
  git(repo, 'checkout', '-q', '-b', 'a');
  const shared = commits(repo, 2, 'shared');
  git(repo, 'checkout', '-q', '-b', 'b');
  const own = commits(repo, 1, 'own');
  git(repo, 'checkout', '-q', 'main');
  const { found } = await scanOf(repo, new Map([['main', base!]]));
  assert.deepEqual(found, [{ commit: shared[1], branch: 'a' }, { commit: own[0], branch: 'b' }]);
});

test('after a force-push only the commits not reported before come back', async (t) => {
  const repo = makeRepo(t);
  const [base] = commits(repo, 1, 'base');
  const [old] = commits(repo, 1, 'old');
  git(repo, 'reset', '-q', '--hard', base!);
  const rewritten = commits(repo, 2, 'rewritten');
  const { found } = await scanOf(repo, new Map([['main', old!]]));
  assert.deepEqual(found.map((f) => f.commit), rewritten);
});

test('a cursor naming a commit the repository no longer has does not break the scan', async (t) => {
  const repo = makeRepo(t);
  const all = commits(repo, 3, 'all');
  const { found } = await scanOf(repo, new Map([['main', 'f'.repeat(40)]]));
  assert.deepEqual(found.map((f) => f.commit), all);
});

test('a deleted branch loses its cursor', async (t) => {
  const repo = makeRepo(t);
  const [main] = commits(repo, 1, 'main');
  const result = await scanOf(repo, new Map([['main', main!], ['gone', main!]]));
  assert.deepEqual(result.deleted, ['gone']);
  assert.deepEqual(result.branches, new Map([['main', main]]));
  assert.deepEqual(result.found, []);
});

test('more new commits than the limit keeps the newest and says so', async (t) => {
  const repo = makeRepo(t);
  const [base] = commits(repo, 1, 'base');
  const added = commits(repo, 5, 'many');
  const result = await scanOf(repo, new Map([['main', base!]]), 3);
  assert.deepEqual(result.found.map((f) => f.commit), added.slice(2));
  assert.deepEqual(result.capped, ['main']);
});

test('with an origin, branches come from the fetched remote refs, without origin/HEAD', async (t) => {
  const { central, clone, work } = makeCentralAndClone(t);
  const [first] = commits(work, 1, 'first');
  git(work, 'push', '-q', 'origin', 'main');
  git(dirname(clone), 'clone', '-q', central, clone);
  git(work, 'checkout', '-q', '-b', 'topic/one');
  const [topic] = commits(work, 1, 'topic');
  git(work, 'push', '-q', 'origin', 'topic/one');

  const view = { clone, hasOrigin: true };
  assert.deepEqual((await readBranchHeads(TEST_GIT, view)).heads, new Map([['main', first]]));
  await fetchOrigin(TEST_GIT, clone);
  assert.deepEqual((await readBranchHeads(TEST_GIT, view)).heads, new Map([['main', first], ['topic/one', topic]]));

  git(work, 'push', '-q', 'origin', '--delete', 'topic/one');
  await fetchOrigin(TEST_GIT, clone);
  assert.deepEqual((await readBranchHeads(TEST_GIT, view)).heads, new Map([['main', first]]), 'pruned');
});

test('listNewCommits refuses anything that is not a commit id', async (t) => {
  const repo = makeRepo(t);
  const [head] = commits(repo, 1, 'x');
  await assert.rejects(listNewCommits(TEST_GIT, repo, '--all', [], 10), /not a commit id/);
  await assert.rejects(listNewCommits(TEST_GIT, repo, head!, ['--output=/tmp/x'], 10), /not a commit id/);
});
