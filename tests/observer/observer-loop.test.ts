// The Observer class in-process, without a link: scans, the pending list and
// the cursor file.
import assert from 'node:assert/strict';
import { readFileSync, realpathSync, renameSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { readCursor } from '../../src/observer/cursor.js';
import { Observer, type ObserverSettings } from '../../src/observer/observer.js';
import { TEST_GIT } from '../helpers/git-context.js';
import { commitFiles, git, makeCentralAndClone, makeRepo } from '../helpers/git-repo.js';
import { tempDir } from '../helpers/temp.js';

function settingsFor(repo: string, state: string): ObserverSettings {
  return {
    clone: realpathSync(repo), hasOrigin: false, originGitDir: null, branches: null, intervalMs: 60_000, cursorFile: join(state, 'observer-test.json'),
    git: TEST_GIT, scratchDir: join(state, 'work'), identity: { name: 'Keel Test', email: 'test@keel.invalid' },
  };
}

test('scanNow during a scan is folded into one more run, and pending is on disk before it is offered', async (t) => {
  const repo = makeRepo(t);
  const head = commitFiles(repo, { 'a.txt': '1' });
  const settings = settingsFor(repo, tempDir(t));
  const lines: string[] = [];
  const observer = new Observer(settings, null, (line) => lines.push(line));
  t.after(() => observer.stop());

  const first = observer.scanNow();
  const second = observer.scanNow();
  assert.equal(first, second, 'one running loop, asked again');
  await first;
  assert.deepEqual(observer.pending(), [{ commit: head, ref: 'refs/heads/main' }]);
  assert.deepEqual((await readCursor(settings.cursorFile))?.pending, [{ commit: head, ref: 'refs/heads/main' }]);
  assert.equal(lines.filter((l) => l.startsWith('new commit')).length, 1, lines.join('\n'));

  const next = commitFiles(repo, { 'a.txt': '2' });
  await observer.scanNow();
  observer.acknowledged({ type: 'queued', commit: head, duplicate: false });
  assert.deepEqual(observer.pending(), [{ commit: next, ref: 'refs/heads/main' }]);
  await observer.stop();
  const saved = JSON.parse(readFileSync(settings.cursorFile, 'utf8'));
  assert.deepEqual(saved, { version: 1, branches: { main: next }, pending: [{ commit: next, ref: 'refs/heads/main' }] });
});

test('only the chosen branches are watched', async (t) => {
  const repo = makeRepo(t);
  commitFiles(repo, { 'a.txt': '1' });
  const settings = { ...settingsFor(repo, tempDir(t)), branches: ['other'] };
  const observer = new Observer(settings, null, () => {});
  t.after(() => observer.stop());
  await observer.scanNow();
  assert.deepEqual(observer.pending(), []);
  assert.deepEqual((await readCursor(settings.cursorFile))?.branches, new Map());
});

/** An observer of a clone whose origin is a local bare repository, after a first scan of `first`. */
async function observeLocalOrigin(t: TestContext) {
  const { central, clone, work } = makeCentralAndClone(t);
  const first = commitFiles(work, { 'a.txt': '1' });
  git(work, 'push', '-q', 'origin', 'main');
  git(dirname(clone), 'clone', '-q', central, clone);
  const settings = { ...settingsFor(clone, tempDir(t)), hasOrigin: true, originGitDir: realpathSync(central) };
  const lines: string[] = [];
  const observer = new Observer(settings, null, (line) => lines.push(line));
  t.after(() => observer.stop());
  await observer.scanNow();
  assert.deepEqual(observer.pending().map(({ commit }) => commit), [first]);
  return { central, clone, work, observer, lines };
}

test('a local origin is read in place, and the clone is fetched after the report', async (t) => {
  const { central, clone, work, observer } = await observeLocalOrigin(t);
  // With the clone unable to fetch, only reading origin itself can find the commit.
  git(clone, 'remote', 'set-url', 'origin', join(tempDir(t), 'nowhere.git'));
  const second = commitFiles(work, { 'a.txt': '2' });
  git(work, 'push', '-q', 'origin', 'main');
  await observer.scanNow();
  assert.deepEqual(observer.pending().map(({ commit }) => commit).at(-1), second, 'reported from origin');

  git(clone, 'remote', 'set-url', 'origin', central);
  const third = commitFiles(work, { 'a.txt': '3' });
  git(work, 'push', '-q', 'origin', 'main');
  await observer.scanNow();
  assert.deepEqual(observer.pending().map(({ commit }) => commit).at(-1), third);
  assert.equal(git(clone, 'rev-parse', 'refs/remotes/origin/main'), third, 'the clone caught up');
});

test('an origin that cannot be read in place is scanned through the clone, and the observer says so', async (t) => {
  const { central, clone, work, observer, lines } = await observeLocalOrigin(t);
  const second = commitFiles(work, { 'a.txt': '2' });
  git(work, 'push', '-q', 'origin', 'main');
  git(clone, 'fetch', '-q', 'origin');
  const origin = realpathSync(central);
  renameSync(central, `${central}.moved`);
  await observer.scanNow();
  assert.deepEqual(observer.pending().map(({ commit }) => commit).at(-1), second, 'found in what the clone last fetched');
  assert.ok(lines.some((line) => line.startsWith(`cannot read origin ${origin} in place, using the clone`)), lines.join('\n'));
  assert.ok(lines.some((line) => line.startsWith('fetch from origin failed')), lines.join('\n'));
});
