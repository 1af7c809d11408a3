// The gate's other paths, end to end: a flaky batch lands whole, a try never
// lands, a cancel kills the jobs of its merge, refusals (no such branch, no
// admin, no push rights) and the tidying of refs/keel/land/*.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { formatToken } from '../../src/common/auth.js';
import { gone, runCli, world } from '../helpers/e2e.js';
import { keyOf, MASTER, MASTER_KEY } from '../helpers/e2e-secret.js';
import { connectAs, connectObserver } from '../helpers/e2e-wire.js';
import { gateWorld, type GateWorld } from '../helpers/gate.js';
import { git } from '../helpers/git-repo.js';

interface Shown { id: string; state: string; flaky: boolean; landedAs: string | null; endedAt: string | null; message: string; builds: Array<{ batch: string }> }

async function requests(g: GateWorld): Promise<Shown[]> {
  const queue = await g.d.keel('queue', '--json');
  assert.equal(queue.code, 0, queue.stderr);
  return JSON.parse(queue.stdout).requests;
}

async function allOver(g: GateWorld): Promise<Shown[]> {
  return g.until(async () => {
    const shown = await requests(g);
    return shown.every((r) => r.endedAt !== null) ? shown : null;
  }, 'every request to be over');
}

test('a batch whose failure passes when its jobs run again lands whole, marked flaky, without being split up', async (t) => {
  const g = await gateWorld(t, { slots: 4 });
  g.branch('shaky', { FLAKY: '' });
  g.branch('plain', { 'plain.txt': 'p\n' });
  assert.deepEqual(await g.together(['shaky', 'plain']), ['L-2', 'L-3']);
  const shown = await allOver(g);
  const batch = g.refOf('refs/keel/land/B-2');
  for (const id of ['L-2', 'L-3']) {
    const request = shown.find((r) => r.id === id)!;
    assert.equal(request.state, 'landed', request.message);
    assert.equal(request.flaky, true);
    assert.equal(request.landedAs, batch, 'landed as the batch\'s own merge');
    assert.match(request.message, /passed only when run again/);
  }
  assert.equal(g.refOf('refs/heads/main'), batch);
  assert.equal(g.refOf('refs/keel/land/B-3'), null, `it was not split: ${JSON.stringify(shown, null, 1)}\n${g.logs()}`);
  const record = await g.result(batch!, { check: (r) => r.run === 2 });
  assert.equal(record.status, 'passed');
  assert.equal(record.flaky, true);
});

test('a try tests the merge and reports, never lands, and does not wait behind the queue', async (t) => {
  const g = await gateWorld(t);
  g.branch('hold', { BLOCK: '' });
  const hold = g.d.keel('land', 'hold', '--wait');
  await g.scripts.started('block');
  g.branch('idea', { 'idea.txt': 'maybe\n' });
  const tried = await g.d.keel('try', 'idea', '--wait');
  assert.equal(tried.code, 0, tried.stdout + tried.stderr);
  assert.match(tried.stdout, /^T-2: trying idea \([0-9a-f]{12}\) into main\nT-2 passed: the merge of it into refs\/heads\/main passed \(([0-9a-f]{40})\); a try does not land/);
  assert.equal(g.refOf('refs/heads/main'), g.base, 'tried while L-1 still holds main\'s queue, and main is untouched');
  const merge = /passed \(([0-9a-f]{40})\)/.exec(tried.stdout)![1]!;
  assert.equal(g.refOf('refs/keel/land/B-2'), merge);
  assert.equal((await g.result(merge)).subject.kind, 'try');
  g.branch('bad-idea', { RED: '' });
  const red = await g.d.keel('try', 'bad-idea', '--wait');
  assert.equal(red.code, 1);
  assert.match(red.stdout, /T-3 failed: the merge of it into refs\/heads\/main fails its tests/);
  g.scripts.release();
  assert.equal((await hold).code, 0);
  assert.ok(!git(g.central, 'log', '--format=%B', 'main').includes('Keel-Kind: try'), 'no try is on main');
});

test('keel cancel L-n during the test kills its jobs and leaves main untouched; a waiting keel land hears it', async (t) => {
  const g = await gateWorld(t);
  g.branch('slow', { BLOCK: '' });
  const waiting = g.d.keel('land', 'slow', '--wait');
  await g.scripts.started('block');
  const pid = Number(readFileSync(join(g.control, 'started-block'), 'utf8'));
  const cancelled = await g.d.keel('cancel', 'L-1');
  assert.equal(cancelled.code, 0, cancelled.stderr + cancelled.stdout);
  assert.match(cancelled.stdout, /^cancelled L-1; its target is untouched/);
  await g.until(() => gone(pid), 'the test script to be killed');
  const result = await waiting;
  assert.equal(result.code, 1);
  assert.match(result.stdout, /L-1 cancelled: cancelled by admin owner/);
  assert.equal(g.refOf('refs/heads/main'), g.base);
  const again = await g.d.keel('cancel', 'L-1');
  assert.equal(again.code, 1);
  assert.match(again.stdout, /L-1 is already over \(cancelled\)/);
  const usage = await g.d.keel('cancel', 'L-x');
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /SHA\|REQUEST must be a commit id .* or a request id/);
});

test('a branch or target that does not exist, or a bad name, is one line and exit 2, and nothing is queued', async (t) => {
  const g = await gateWorld(t);
  g.branch('real', { 'r.txt': 'r\n' });
  const cases: Array<[string[], RegExp]> = [
    [['land', 'no-such'], /^keel land: there is no branch no-such in origin\n$/],
    [['land', 'real', '--into', 'no-such'], /^keel land: there is no branch no-such in origin to land on\n$/],
    [['try', 'no-such'], /^keel try: there is no branch no-such in origin\n$/],
    [['land', 'main'], /^keel land: main cannot land on itself\n$/],
    [['land', '--', '--upload-pack=x'], /BRANCH must be one branch name/],
    [['land', 'a..b'], /BRANCH must be one branch name/],
    [['land', 'real', '--into', 'x:y'], /--into must be a branch name/],
    [['land', 'real', '--priority', 'high'], /--priority must be a whole number/],
    [['try', 'real', '--priority', '3'], /Unknown option '--priority'/],
  ];
  for (const [args, stderr] of cases) {
    const result = await g.d.keel(...args);
    assert.equal(result.code, 2, args.join(' '));
    assert.equal(result.stdout, '', args.join(' '));
    assert.match(result.stderr, stderr, args.join(' '));
    assert.equal(result.stderr.trim().split('\n').length, 1, `one line: ${result.stderr}`);
  }
  assert.deepEqual(await requests(g), []);
});

test('only admins land, try and cancel; anyone may read the queue and wait', async (t) => {
  const w = world(t);
  const d = await w.dispatcher({ secret: MASTER });
  const clientToken = join(w.tmp, 'client.token');
  writeFileSync(clientToken, `${formatToken(MASTER_KEY, 'client')}\n`);
  for (const args of [['land', 'x'], ['try', 'x'], ['cancel', 'L-1']]) {
    const result = await runCli([...args, '--dispatcher', d.address, '--token-file', clientToken]);
    assert.equal(result.code, 2, args.join(' '));
    assert.match(result.stderr, /this token is for the client role, not admin/, args.join(' '));
  }
  const queue = await runCli(['queue', '--dispatcher', d.address, '--token-file', clientToken]);
  assert.equal(queue.code, 0, queue.stderr);
  assert.match(queue.stdout, /the land queue is empty/);

  const client = await connectAs(t, d.port, 'client', 'reader', { key: keyOf(formatToken(MASTER_KEY, 'client')) });
  for (const message of [
    { type: 'land', branch: 'refs/heads/x', target: null, project: null, priority: 0, squash: false, try: false },
    { type: 'land-cancel', request: 'L-1' },
  ] as const) {
    client.send(message);
    assert.equal((await client.next('error')).code, 'not-allowed');
  }
  client.send({ type: 'land-wait', request: 'L-1' });
  const unknown = await client.next('done');
  assert.deepEqual([unknown.ok, unknown.code], [false, 'unknown-build']);
});

test('an observer answers only its own project\'s gate work: another project\'s observer cannot answer a merge', async (t) => {
  const w = world(t);
  const d = await w.inProcess();
  const app = await connectObserver(t, d.port, { repo: w.central, project: 'app' }, { name: 'app-observer' });
  const rival = await connectObserver(t, d.port, { repo: w.central, project: 'lib' }, { name: 'lib-observer' });
  const admin = await connectAs(t, d.port, 'admin', 'alice');
  admin.send({ type: 'land', branch: 'refs/heads/x', target: null, project: 'app', priority: 0, squash: false, try: false });
  const inspect = await app.peer.next('command');
  assert.equal(inspect.command.op, 'inspect');
  rival.peer.send({ type: 'command-result', id: inspect.id, ok: true, code: null, message: 'forged', commit: null, answer: { op: 'inspect', refs: [], defaultBranch: null } });
  assert.equal((await rival.peer.next('error')).code, 'not-your-command');
  const sha = 'a'.repeat(40);
  app.peer.send({
    type: 'command-result', id: inspect.id, ok: true, code: null, message: 'read', commit: null,
    answer: { op: 'inspect', refs: [{ ref: 'refs/heads/x', commit: sha }], defaultBranch: 'refs/heads/main' },
  });
  const queued = await admin.next('done');
  assert.equal(queued.request, 'L-1', queued.message);
  const merge = await app.peer.next('command');
  assert.equal(merge.command.op, 'merge');
  rival.peer.send({ type: 'command-result', id: merge.id, ok: false, code: 'conflict', message: 'forged', commit: null, answer: { op: 'merge', base: sha, heads: [], conflict: { request: 'L-1', files: ['x'] } } });
  assert.equal((await rival.peer.next('error')).code, 'not-your-command');
  admin.send({ type: 'queue' });
  const [request] = (await admin.next('land-queue')).requests;
  assert.equal(request!.state, 'merging', 'the forged conflict changed nothing');
});

test('without push rights on origin a land ends as error with git\'s own message, and the dispatcher serves on', async (t) => {
  const g = await gateWorld(t);
  g.branch('feature', { 'f.txt': 'f\n' });
  writeFileSync(join(g.central, 'hooks', 'pre-receive'), '#!/bin/sh\necho "keel may not push to this repository" >&2\nexit 1\n', { mode: 0o755 });
  const result = await g.d.keel('land', 'feature', '--wait');
  assert.equal(result.code, 1);
  assert.match(result.stdout, /L-1 error: the merge failed: cannot push the merge to origin: .*keel may not push to this repository/);
  assert.equal(g.refOf('refs/heads/main'), g.base);
  assert.equal((await g.d.keel('status')).code, 0);
});

test('refs/keel/land/* of finished requests are removed after --keep-refs; those still under way are kept', async (t) => {
  const g = await gateWorld(t);
  g.branch('done', { 'd.txt': 'd\n' });
  assert.equal((await g.d.keel('land', 'done', '--wait')).code, 0);
  g.branch('slow', { BLOCK: '' });
  assert.equal((await g.d.keel('try', 'slow')).code, 0);
  await g.scripts.started('block');
  assert.ok(g.refOf('refs/keel/land/B-1'));
  await g.stop(g.d);
  const again = await g.dispatcher({ port: g.d.port, extra: ['--keep-refs', '0'] });
  await g.until(() => g.refOf('refs/keel/land/B-1') === null, 'the finished request\'s ref to be removed');
  assert.ok(g.refOf('refs/keel/land/B-2'), 'the try under way keeps its ref');
  g.scripts.release();
  const over = await again.keel('land', '--wait', 'slow');
  assert.equal(over.code, 0, over.stdout + over.stderr);
});
