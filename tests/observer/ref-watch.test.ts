// The watcher of a local origin's refs, in-process on real repositories:
// a push, a new nested branch and a `git pack-refs` each give a change; a
// burst gives one; a git folder that appears late is watched once it exists.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { RefWatcher } from '../../src/observer/ref-watch.js';
import { commitFiles, git, makeCentralAndClone } from '../helpers/git-repo.js';
import { tempDir, waitFor } from '../helpers/temp.js';

function watchCentral(t: TestContext, gitDir: string, debounceMs = 5) {
  const changes: number[] = [];
  const lines: string[] = [];
  const watcher = new RefWatcher({ gitDir, debounceMs, onChange: () => changes.push(Date.now()), log: (line) => lines.push(line) });
  t.after(() => watcher.stop());
  return { watcher, changes, lines };
}

test('a push, a nested branch and packed refs are each seen without polling', async (t) => {
  const { central, work } = makeCentralAndClone(t);
  const { watcher, changes } = watchCentral(t, central);
  assert.equal(watcher.start(), true);

  // Each push renames a new file over refs/heads/main; every one must be seen
  // (Node 20's recursive watch on Linux loses the file after the first).
  for (let i = 1; i <= 3; i++) {
    const before = changes.length;
    commitFiles(work, { 'a.txt': String(i) });
    git(work, 'push', '-q', 'origin', 'main');
    await waitFor(() => changes.length > before, `a change after push ${i} of main`, 5_000);
  }

  let seen = changes.length;
  git(work, 'push', '-q', 'origin', 'main:refs/heads/team/feature');
  await waitFor(() => changes.length > seen, 'a change after pushing a branch in a new folder', 5_000);

  // pack-refs moves every loose ref into packed-refs: only the git folder's watch sees that file.
  git(central, 'pack-refs', '--all');
  seen = changes.length;
  git(central, 'update-ref', '-d', 'refs/heads/team/feature');
  await waitFor(() => changes.length > seen, 'a change after deleting a packed ref', 5_000);
});

test('a burst of ref updates gives one change', async (t) => {
  const { central, work } = makeCentralAndClone(t);
  commitFiles(work, { 'a.txt': '1' });
  git(work, 'push', '-q', 'origin', 'main');
  // A debounce long enough that ten updates written by one git process fall inside it.
  const { watcher, changes } = watchCentral(t, central, 300);
  watcher.start();
  const refs = Array.from({ length: 10 }, (_, i) => `main:refs/heads/b${i}`);
  git(work, 'push', '-q', 'origin', ...refs);
  await waitFor(() => changes.length >= 1, 'a change after the burst', 5_000);
  // A probe ref after the burst proves the watcher is quiet again, without a sleep.
  git(central, 'update-ref', 'refs/heads/probe', 'main');
  await waitFor(() => changes.length >= 2, 'a change after the probe', 5_000);
  assert.equal(changes.length, 2, 'ten refs in one push: one change, then one for the probe');
});

test('a git folder that does not exist yet is watched once it does', async (t) => {
  const gitDir = join(tempDir(t), 'later.git');
  const { watcher, changes, lines } = watchCentral(t, gitDir);
  assert.equal(watcher.start(), false);
  assert.match(lines[0] ?? '', /cannot watch .*later\.git.*relying on polling/);
  mkdirSync(join(gitDir, 'refs', 'heads'), { recursive: true });
  await waitFor(() => lines.some((l) => /watching .* again/.test(l)), 'the watcher to re-arm', 10_000);
  // Re-arming asks for one scan, for whatever changed while nothing watched.
  await waitFor(() => changes.length >= 1, 'a scan after re-arming', 5_000);
});
