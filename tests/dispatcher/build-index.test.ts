// The index of finished builds (STATE/builds.index): appended, read back a
// branch at a time newest first with cursors, kept across restarts from a
// bounded read of its end, and never misled by a torn or damaged line.
import { strict as assert } from 'node:assert';
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { BuildIndex, INDEX_FILE } from '../../src/dispatcher/build-index.js';
import type { BuildRecord } from '../../src/protocol/records.js';
import { buildRecord } from '../protocol/fixtures.js';
import { tempDir } from '../helpers/temp.js';

const sha = (i: number) => i.toString(16).padStart(40, '0');
const quiet = () => {};

function finished(i: number, ref: string, status: BuildRecord['status'] = 'passed', durationMs = 1000 + i): BuildRecord {
  return { ...buildRecord, commit: sha(i), ref, status, durationMs, message: '', endedAt: new Date(Date.UTC(2024, 0, 1, 0, 0, i)).toISOString() };
}

async function all(index: BuildIndex, ref: string, limit: number, project: string | null = null): Promise<string[][]> {
  const pages: string[][] = [];
  let before: number | null = null;
  do {
    const page = await index.page(project, ref, before, limit);
    pages.push(page.builds.map((b) => b.commit));
    before = page.next;
  } while (before !== null);
  return pages;
}

test('a branch\'s builds come back newest first, a page at a time, and nothing of other branches', async (t) => {
  const state = tempDir(t);
  const index = await BuildIndex.open(state, quiet);
  t.after(() => index.close());
  for (let i = 1; i <= 25; i++) index.append(finished(i, i % 3 === 0 ? 'refs/heads/other' : 'refs/heads/main'));
  const main = Array.from({ length: 25 }, (_, k) => 25 - k).filter((i) => i % 3 !== 0).map(sha);
  const pages = await all(index, 'refs/heads/main', 5);
  assert.deepEqual(pages.flat(), main);
  assert.ok(pages.slice(0, -1).every((page) => page.length === 5));
  assert.deepEqual((await index.page(null, 'refs/heads/none', null, 10)), { builds: [], next: null });
  assert.deepEqual((await index.page('lib', 'refs/heads/main', null, 10)).builds, [], 'projects are apart');
});

test('after a restart the branches\' newest builds and last passing build are known again', async (t) => {
  const state = tempDir(t);
  const first = await BuildIndex.open(state, quiet);
  first.append(finished(1, 'refs/heads/main', 'passed', 5000));
  first.append(finished(2, 'refs/heads/main', 'failed'));
  first.append({ ...finished(3, 'refs/heads/main'), project: 'lib', repo: '/srv/lib.git' });
  await first.close();
  const again = await BuildIndex.open(state, quiet);
  t.after(() => again.close());
  const main = again.recent.of(null, 'refs/heads/main')!;
  assert.deepEqual(main.builds.map((b) => b.commit), [sha(2), sha(1)]);
  assert.equal(main.lastPassing?.commit, sha(1));
  assert.equal(main.lastPassing?.durationMs, 5000);
  assert.equal(again.repos.get('lib'), '/srv/lib.git');
  assert.deepEqual((await all(again, 'refs/heads/main', 10)).flat(), [sha(2), sha(1)]);
});

test('a torn last line and a damaged line are skipped, and the next build starts a line of its own', async (t) => {
  const state = tempDir(t);
  const first = await BuildIndex.open(state, quiet);
  for (let i = 1; i <= 3; i++) first.append(finished(i, 'refs/heads/main'));
  await first.close();
  const path = join(state, INDEX_FILE);
  const lines = readFileSync(path, 'utf8').split('\n');
  // Line 2 gets a flipped byte (its checksum no longer fits); then a crash tears a line in half.
  lines[1] = lines[1]!.replace('"passed"', '"failed"');
  writeFileSync(path, lines.join('\n'));
  appendFileSync(path, '0badc0de {"commit":"torn');
  const again = await BuildIndex.open(state, quiet);
  t.after(() => again.close());
  again.append(finished(4, 'refs/heads/main'));
  assert.deepEqual((await all(again, 'refs/heads/main', 10)).flat(), [sha(4), sha(3), sha(1)]);
});

test('a build written twice (a crash before the journal noted it) is listed once', async (t) => {
  const index = await BuildIndex.open(tempDir(t), quiet);
  t.after(() => index.close());
  index.append(finished(1, 'refs/heads/main'));
  index.append(finished(1, 'refs/heads/main'));
  assert.deepEqual((await index.page(null, 'refs/heads/main', null, 10)).builds.map((b) => b.commit), [sha(1)]);
  assert.equal(index.recent.of(null, 'refs/heads/main')!.builds.length, 1);
});

test('thousands of builds: a page reads backwards, and every build of a sparse branch is still found', async (t) => {
  const index = await BuildIndex.open(tempDir(t), quiet);
  t.after(() => index.close());
  for (let i = 1; i <= 5000; i++) index.append(finished(i, i % 1000 === 0 ? 'refs/heads/rare' : 'refs/heads/main'));
  const started = performance.now();
  const newest = await index.page(null, 'refs/heads/main', null, 50);
  assert.equal(newest.builds.length, 50);
  assert.equal(newest.builds[0]!.commit, sha(4999));
  assert.ok(performance.now() - started < 2000);
  assert.deepEqual((await all(index, 'refs/heads/rare', 2)).flat(), [5000, 4000, 3000, 2000, 1000].map(sha));
});
