// The dispatcher's artifact store on a real temp folder: pieces in order
// make whole files, kept on the result at <sha>.<job>.artifacts; the build's
// budget is shared by its jobs; pieces out of order, a new attempt, a lost
// one and paths that would climb out are handled; and which old folders
// --keep-artifacts deletes.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { expired, sweep } from '../../src/dispatcher/artifact-retention.js';
import { ArtifactStore } from '../../src/dispatcher/artifact-store.js';
import type { BuildRecord, JobRecord, RunOutcome } from '../../src/protocol/records.js';
import { tempDir } from '../helpers/temp.js';

const SHA = 'c'.repeat(40);
const job = (name: string) => ({ name, spec: { artifacts: ['out/**'] } }) as unknown as JobRecord;
const build = { commit: SHA, project: null, subject: { kind: 'push', base: null, request: null }, jobs: [] } as unknown as BuildRecord;
const piece = (path: string, text: string, offset = 0, size = text.length) => ({ path, size, offset, bytes: Buffer.from(text) });
const sent = (...files: Array<[string, number]>) => ({ artifacts: files.map(([path, bytes]) => ({ path, bytes })), artifactNotes: [] }) as unknown as RunOutcome;

test('pieces make a whole file, kept on the result; a file that did not arrive whole is noted and left out', (t) => {
  const dir = tempDir(t);
  const store = new ArtifactStore(() => dir, 1024);
  const a = job('a');
  assert.deepEqual(store.receive(build, a, 'L1', piece('out/x.txt', 'hel', 0, 5)), { ok: true });
  assert.deepEqual(store.receive(build, a, 'L1', piece('out/x.txt', 'lo', 3, 5)), { ok: true });
  store.receive(build, a, 'L1', piece('out/half.txt', 'ab', 0, 4));
  assert.ok(existsSync(join(dir, `.${SHA}.a.artifacts.partial`)));
  const kept = store.keep(build, a, 'L1', sent(['out/x.txt', 5], ['out/half.txt', 4], ['out/never.txt', 3]));
  assert.deepEqual(kept, {
    dir: `${SHA}.a.artifacts`, files: [{ path: 'out/x.txt', bytes: 5 }],
    notes: ['out/half.txt: not kept, it did not arrive whole', 'out/never.txt: not kept, it did not arrive whole'],
  });
  assert.equal(readFileSync(join(dir, `${SHA}.a.artifacts`, 'out', 'x.txt'), 'utf8'), 'hello');
  assert.deepEqual(readdirSync(join(dir, `${SHA}.a.artifacts`, 'out')), ['x.txt']);
  assert.equal(existsSync(join(dir, `.${SHA}.a.artifacts.partial`)), false);
});

test('a piece out of order is refused; a path that would climb out is refused before it names a file', (t) => {
  const dir = tempDir(t);
  const store = new ArtifactStore(() => join(dir, 'results'), 1024);
  mkdirSync(join(dir, 'results'));
  assert.equal(store.receive(build, job('a'), 'L1', piece('out/x', 'abc', 2, 10)).ok, false);
  for (const path of ['../x', 'out/../../x', '/etc/x', 'a//b', '.']) assert.equal(store.receive(build, job('a'), 'L1', piece(path, 'x')).ok, false, path);
  assert.deepEqual(readdirSync(dir), ['results']);
});

test('the budget is the build\'s, over its jobs; a new attempt of a job starts its files over', (t) => {
  const dir = tempDir(t);
  const store = new ArtifactStore(() => dir, 10);
  const [a, b] = [job('a'), job('b')];
  store.receive(build, a, 'L1', piece('out/a', '123456'));
  store.receive(build, b, 'L2', piece('out/b', '12345'));
  const keptB = store.keep(build, b, 'L2', sent(['out/b', 5]));
  assert.deepEqual(keptB?.files, []);
  assert.deepEqual(keptB?.notes, ['out/b: not kept, over the 0 MiB a build\'s artifacts may hold (--max-artifact-mib)']);
  // Attempt 2 of job a: what attempt 1 sent goes, and no longer counts.
  store.receive(build, a, 'L3', piece('out/a2', '1234567890'));
  assert.deepEqual(store.keep(build, a, 'L3', sent(['out/a2', 10]))?.files, [{ path: 'out/a2', bytes: 10 }]);
  assert.deepEqual(readdirSync(join(dir, `${SHA}.a.artifacts`, 'out')), ['a2']);
  store.receive(build, b, 'L4', piece('out/b', 'x'));
  store.discard(build, b);
  assert.equal(existsSync(join(dir, `.${SHA}.b.artifacts.partial`)), false, 'a lost attempt leaves nothing');
});

test('--keep-artifacts: only artifact folders older than the days go, never with 0', (t) => {
  const now = Date.parse('2026-06-01T00:00:00Z');
  const day = 86_400_000;
  const entries = [
    { path: '/r/old', name: `${SHA}.unit.artifacts`, mtimeMs: now - 31 * day },
    { path: '/r/new', name: `${SHA}.lint.artifacts`, mtimeMs: now - 29 * day },
    { path: '/r/report', name: SHA, mtimeMs: now - 400 * day },
    { path: '/r/partial', name: `.${SHA}.unit.artifacts.partial`, mtimeMs: now - 400 * day },
  ];
  assert.deepEqual(expired(entries, now, 30), ['/r/old']);
  assert.deepEqual(expired(entries, now, 0), []);

  const dir = tempDir(t);
  for (const folder of [`${SHA}.unit.artifacts`, join('lib', `${SHA}.unit.artifacts`), join('lib', `${SHA}.lint.artifacts`)]) mkdirSync(join(dir, folder), { recursive: true });
  const old = (Date.now() - 40 * day) / 1000;
  utimesSync(join(dir, `${SHA}.unit.artifacts`), old, old);
  utimesSync(join(dir, 'lib', `${SHA}.unit.artifacts`), old, old);
  assert.equal(sweep(dir, 30), 2);
  assert.deepEqual(readdirSync(join(dir, 'lib')), [`${SHA}.lint.artifacts`]);
});
