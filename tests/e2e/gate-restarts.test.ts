// Nothing of a land is lost: the dispatcher SIGKILLed while a request is
// queued, testing, merging (the merge's push held by a hook of origin) or
// landing (main pushed, the answer not yet heard), and the observer killed
// while landing, and every request still finishes after the restart, each
// landed exactly once.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { gateWorld, type GateWorld } from '../helpers/gate.js';
import type { Dispatcher } from '../helpers/e2e.js';

async function over(g: GateWorld, d: Dispatcher, id: string): Promise<{ state: string; message: string; landedAs: string | null }> {
  return g.until(async () => {
    const queue = await d.keel('queue', '--json');
    if (queue.code !== 0) return null;
    const request = JSON.parse(queue.stdout).requests.find((r: { id: string }) => r.id === id);
    return request?.endedAt ? request : null;
  }, `${id} to be over`);
}

function landedOnce(g: GateWorld, id: string, request: { state: string; message: string; landedAs: string | null }): void {
  assert.equal(request.state, 'landed', request.message);
  assert.deepEqual(g.landingsOf(id), [request.landedAs], `${id} is on main's first-parent history once`);
}

test('the dispatcher killed while one request is tested and another queued: both land after the restart, and keel land --wait waits through it', async (t) => {
  const g = await gateWorld(t);
  g.branch('slow', { BLOCK: '' });
  const waiting = g.d.keel('land', 'slow', '--wait');
  await g.scripts.started('block');
  g.branch('next', { 'n.txt': 'n\n' });
  assert.equal((await g.d.keel('land', 'next')).code, 0);
  await g.stop(g.d, 'SIGKILL');
  const d = await g.dispatcher({ port: g.d.port });
  g.scripts.release();
  const result = await waiting;
  assert.equal(result.code, 0, result.stdout + result.stderr);
  assert.match(result.stderr, /waiting for it to come back/);
  landedOnce(g, 'L-1', await over(g, d, 'L-1'));
  landedOnce(g, 'L-2', await over(g, d, 'L-2'));
});

test('the dispatcher killed while the observer pushes the merge: the merge is made once and the request lands after the restart', async (t) => {
  const g = await gateWorld(t);
  g.branch('feature', { 'f.txt': 'f\n' });
  const pushes = g.holdPushes('refs/keel/land/*');
  assert.equal((await g.d.keel('land', 'feature')).code, 0);
  await pushes.held();
  await g.stop(g.d, 'SIGKILL');
  const d = await g.dispatcher({ port: g.d.port });
  pushes.release();
  const request = await over(g, d, 'L-1');
  landedOnce(g, 'L-1', request);
  assert.equal(g.refOf('refs/keel/land/B-1'), request.landedAs);
});

test('the dispatcher killed after main was pushed but before it heard: recorded as landed from git, never landed twice', async (t) => {
  const g = await gateWorld(t);
  g.branch('feature', { 'f.txt': 'f\n' });
  const pushes = g.holdPushes('refs/heads/main', { after: true });
  assert.equal((await g.d.keel('land', 'feature')).code, 0);
  await pushes.held();
  const pushed = g.refOf('refs/heads/main');
  assert.notEqual(pushed, g.base, 'main is pushed; the observer\'s push waits on the hook');
  await g.stop(g.d, 'SIGKILL');
  const d = await g.dispatcher({ port: g.d.port });
  pushes.release();
  const request = await over(g, d, 'L-1');
  landedOnce(g, 'L-1', request);
  assert.equal(request.landedAs, pushed);
});

test('the observer killed while landing: a new one finishes the land from git, once', async (t) => {
  const g = await gateWorld(t);
  g.branch('feature', { 'f.txt': 'f\n' });
  const pushes = g.holdPushes('refs/heads/main', { after: true });
  assert.equal((await g.d.keel('land', 'feature')).code, 0);
  await pushes.held();
  await g.stop(g.watcher, 'SIGKILL');
  pushes.release();
  g.observer(g.d, { extra: ['--branch', 'main'] });
  const request = await over(g, g.d, 'L-1');
  landedOnce(g, 'L-1', request);
});

test('the dispatcher killed while a request waits in the queue behind a failing one: the queue goes on after the restart', async (t) => {
  const g = await gateWorld(t);
  g.branch('red', { RED: '', BLOCK: '' });
  assert.equal((await g.d.keel('land', 'red')).code, 0);
  await g.scripts.started('block');
  g.branch('green', { 'g.txt': 'g\n' });
  assert.equal((await g.d.keel('land', 'green')).code, 0);
  await g.stop(g.d, 'SIGKILL');
  const d = await g.dispatcher({ port: g.d.port });
  g.scripts.release();
  assert.equal((await over(g, d, 'L-1')).state, 'failed');
  landedOnce(g, 'L-2', await over(g, d, 'L-2'));
  assert.deepEqual(g.landingsOf('L-1'), []);
});
