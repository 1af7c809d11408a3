// The gate end to end, with real git repositories and the real processes:
// keel land merges a branch in the observer's scratch repository, the merge
// is tested by a runner, and main moves to exactly the tested commit only
// when it passed and main is still where the merge started.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { git } from '../helpers/git-repo.js';
import { gateWorld } from '../helpers/gate.js';

test('a green branch lands: main is exactly the tested merge, the merge records the request, and its push is not built again', async (t) => {
  const g = await gateWorld(t);
  const head = g.branch('feature-x', { 'x.txt': 'x\n' });
  const landed = await g.d.keel('land', 'feature-x', '--into', 'main', '--wait');
  assert.equal(landed.code, 0, landed.stderr + landed.stdout);
  assert.match(landed.stdout, new RegExp(`^L-1: queued to land feature-x \\(${head.slice(0, 12)}\\) into main\\nL-1 landed: landed on refs/heads/main as ([0-9a-f]{40})`));
  const merge = /as ([0-9a-f]{40})/.exec(landed.stdout)![1]!;
  assert.equal(g.refOf('refs/heads/main'), merge);
  assert.equal(g.refOf('refs/heads/feature-x'), head, 'the branch is never changed');
  assert.deepEqual(git(g.central, 'rev-parse', `${merge}^1`, `${merge}^2`).split('\n'), [g.base, head]);
  const message = git(g.central, 'log', '-1', '--format=%B', merge);
  for (const line of ['Keel-Request: L-1', 'Keel-Kind: land', `Keel-Branch: refs/heads/feature-x ${head}`, `Keel-Target: refs/heads/main ${g.base}`, 'Keel-By: admin owner']) {
    assert.ok(message.includes(line), `${line} in\n${message}`);
  }
  assert.match(git(g.central, 'log', '-1', '--format=%cn <%ce>', merge), /^Keel <keel@.+>$/);

  // The result files every commit has, written when the merge was tested, saying what it was tested as.
  const record = await g.result(merge);
  assert.equal(record.status, 'passed');
  assert.deepEqual(record.subject, { kind: 'land', base: g.base, request: 'B-1', requests: ['L-1'] });
  assert.match(g.report(merge), /tested: {3}as land for B-1 \(L-1\) on [0-9a-f]{40}/);
  // main's arrival at the merge is seen by the observer and not run again.
  await g.watcher.delivered(merge);
  assert.deepEqual(g.scripts.runs('check').filter((c) => c === merge), [merge]);

  const queue = await g.d.keel('queue', '--json');
  assert.equal(queue.code, 0, queue.stderr);
  const [shown] = JSON.parse(queue.stdout).requests;
  assert.equal(shown.state, 'landed');
  assert.equal(shown.landedAs, merge);
  assert.deepEqual(shown.builds, [{ batch: 'B-1', commit: merge, base: g.base, status: 'passed' }]);
  const table = await g.d.keel('queue');
  assert.match(table.stdout, /the land queue is empty\n\nrecently over:\nREQUEST +STATE +PRIORITY/);
  assert.match(table.stdout, new RegExp(`L-1 +landed +0 +feature-x +main +${head.slice(0, 12)} +admin owner +landed as ${merge.slice(0, 12)}`));
});

test('--squash lands one commit with the branch\'s changes on top of main', async (t) => {
  const g = await gateWorld(t);
  g.branch('feature-s', { 's1.txt': '1\n' });
  const second = g.branch('feature-s', { 's2.txt': '2\n' }, 'feature-s');
  const landed = await g.d.keel('land', 'feature-s', '--squash', '--wait');
  assert.equal(landed.code, 0, landed.stderr + landed.stdout);
  const tip = g.refOf('refs/heads/main')!;
  assert.equal(git(g.central, 'rev-parse', `${tip}^1`), g.base);
  assert.equal(git(g.central, 'rev-list', '--count', '--parents', `${tip}^@`), '1', 'one parent: a squash');
  assert.equal(git(g.central, 'rev-parse', `${tip}^{tree}`), git(g.central, 'rev-parse', `${second}^{tree}`));
});

test('a red branch never lands: --wait exits 1 saying why, main and the branch stay where they were', async (t) => {
  const g = await gateWorld(t);
  const head = g.branch('broken', { RED: '' });
  const result = await g.d.keel('land', 'broken', '--wait');
  assert.equal(result.code, 1, result.stdout + result.stderr);
  assert.match(result.stdout, /L-1 failed: its tests fail: tests \(merged as [0-9a-f]{40}, and again when run once more\)/);
  assert.equal(g.refOf('refs/heads/main'), g.base);
  assert.equal(g.refOf('refs/heads/broken'), head);
  const merge = /merged as ([0-9a-f]{40})/.exec(result.stdout)![1]!;
  assert.equal((await g.result(merge)).status, 'failed');
  assert.equal(g.refOf('refs/keel/land/B-1'), merge, 'the merge stays on its ref for a look');
});

test('main moves while the merge is tested: merged again onto the new tip, tested again, landed; the commit that moved it is kept', async (t) => {
  const g = await gateWorld(t);
  g.branch('slow', { BLOCK: '' });
  const waiting = g.d.keel('land', 'slow', '--wait');
  await g.scripts.started('block');
  const other = g.moveMain({ 'other.txt': 'pushed meanwhile\n' });
  g.scripts.release();
  const result = await waiting;
  assert.equal(result.code, 0, result.stdout + result.stderr);
  const tip = g.refOf('refs/heads/main')!;
  assert.equal(git(g.central, 'rev-parse', `${tip}^1`), other, 'merged onto the commit that moved main');
  const queue = JSON.parse((await g.d.keel('queue', '--json')).stdout).requests[0];
  assert.deepEqual(queue.builds.map((b: { base: string; status: string }) => [b.base, b.status]), [[g.base, 'passed'], [other, 'passed']]);
  assert.equal(queue.landedAs, tip);
  assert.ok(g.scripts.runs('check').includes(tip), 'the second merge was tested too');
});

test('a branch that conflicts with main ends as conflict, naming the file, and nothing is pushed', async (t) => {
  const g = await gateWorld(t);
  g.branch('clash', { README: 'one\nTWO from the branch\nthree\n' });
  g.moveMain({ README: 'one\ntwo from main\nthree\n' });
  const tip = g.refOf('refs/heads/main');
  const result = await g.d.keel('land', 'clash', '--wait');
  assert.equal(result.code, 1);
  assert.match(result.stdout, /L-1 conflict: refs\/heads\/clash does not merge into refs\/heads\/main: conflict in README/);
  assert.equal(g.refOf('refs/heads/main'), tip);
  assert.equal(g.refOf('refs/keel/land/B-1'), null);
});

test('a branch pushed again while it waits in the queue lands at its new head', async (t) => {
  const g = await gateWorld(t);
  g.branch('first', { BLOCK: '' });
  const first = g.d.keel('land', 'first', '--wait');
  await g.scripts.started('block');
  g.branch('second', { 'v1.txt': '1\n' });
  const second = g.d.keel('land', 'second', '--wait');
  await g.until(async () => JSON.parse((await g.d.keel('queue', '--json')).stdout).requests.some((r: { id: string }) => r.id === 'L-2'), 'L-2 to be queued');
  const newer = g.branch('second', { 'v2.txt': '2\n' }, 'second');
  g.scripts.release();
  assert.equal((await first).code, 0);
  const result = await second;
  assert.equal(result.code, 0, result.stdout + result.stderr);
  const tip = g.refOf('refs/heads/main')!;
  assert.equal(git(g.central, 'rev-parse', `${tip}^2`), newer);
  const request = JSON.parse((await g.d.keel('queue', '--json')).stdout).requests.find((r: { id: string }) => r.id === 'L-2');
  assert.equal(request.head, newer);
});

test('four requests in a batch, one red: both halves are tested, the three green land and the red does not', async (t) => {
  const g = await gateWorld(t, { slots: 4 });
  const names = ['a', 'b', 'red', 'c'];
  for (const name of names) g.branch(name, name === 'red' ? { RED: '' } : { [`${name}.txt`]: `${name}\n` });
  const ids = await g.together(names);
  assert.deepEqual(ids, ['L-2', 'L-3', 'L-4', 'L-5']);
  await g.until(async () => {
    const { requests } = JSON.parse((await g.d.keel('queue', '--json')).stdout);
    return requests.every((r: { endedAt: string | null }) => r.endedAt !== null);
  }, 'every request to be over');
  const requests = JSON.parse((await g.d.keel('queue', '--json')).stdout).requests;
  const request = (id: string) => requests.find((r: { id: string }) => r.id === id);
  assert.deepEqual(ids.map((id) => request(id).state), ['landed', 'landed', 'failed', 'landed']);
  const main = g.refOf('refs/heads/main')!;
  for (const file of ['a.txt', 'b.txt', 'c.txt']) assert.equal(git(g.central, 'cat-file', '-t', `${main}:${file}`), 'blob');
  assert.throws(() => git(g.central, 'cat-file', '-e', `${main}:RED`), 'the red branch is not on main');
  // B-2 held all four; B-3 (a, b) and B-4 (red, c) are its halves, each tested.
  const tested = new Set(g.scripts.runs('check'));
  for (const batch of ['B-2', 'B-3', 'B-4']) {
    const commit = g.refOf(`refs/keel/land/${batch}`);
    assert.ok(commit && tested.has(commit), `${batch} was tested`);
  }
  assert.deepEqual(request('L-4').builds.map((b: { batch: string }) => b.batch), ['B-2', 'B-4', 'B-5']);
  // A batch lands as one commit: the tested one, the branches of a and b its parents after main's tip.
  const half = request('L-2').landedAs;
  assert.equal(half, g.refOf('refs/keel/land/B-3'));
  assert.equal(request('L-3').landedAs, half);
  const parents = git(g.central, 'rev-list', '--parents', '-n', '1', half!).split(' ').slice(1);
  assert.deepEqual(parents.slice(1), [g.refOf('refs/heads/a'), g.refOf('refs/heads/b')]);
  assert.deepEqual(g.landingsOf('L-2'), [half]);
  assert.deepEqual(g.landingsOf('L-3'), [half]);
});
