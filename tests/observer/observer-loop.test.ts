// The Observer class in-process, without a link: scans, the pending list and
// the cursor file.
import assert from 'node:assert/strict';
import { readFileSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { readCursor } from '../../src/observer/cursor.js';
import { Observer, type ObserverSettings } from '../../src/observer/observer.js';
import { commitFiles, makeRepo } from '../helpers/git-repo.js';
import { tempDir } from '../helpers/temp.js';

function settingsFor(repo: string, state: string): ObserverSettings {
  return { clone: realpathSync(repo), hasOrigin: false, branches: null, intervalMs: 60_000, cursorFile: join(state, 'observer-test.json') };
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
