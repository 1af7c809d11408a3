// Nothing of a patch is lost: the dispatcher SIGKILLed while the observer
// applies it (its push held by a hook of origin) or while it is tested, and
// the observer killed while applying, and every accepted patch still ends
// with a result, applied once.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { git } from '../helpers/git-repo.js';
import { applications, patchWorld } from '../helpers/patches.js';
import { holdPushes } from '../helpers/push-hold.js';

test('the dispatcher killed while the observer pushes the applied patch: after the restart it is tested, applied once', async (t) => {
  const p = await patchWorld(t);
  const mbox = p.series('topic', [{ 'tests/ok.t': 'exit 0\n' }], { cover: 'Held' });
  const pushes = holdPushes(p.central, p.control, p.until, 'refs/keel/patches/*');
  assert.equal((await p.d.keel('patch', mbox)).code, 0);
  await pushes.held();
  await p.stop(p.d, 'SIGKILL');
  const d = await p.dispatcher({ port: p.d.port });
  pushes.release();
  const record = await p.waitPatch('P-1', (r) => r.state !== 'open', 'to be tested after the restart');
  assert.equal(record.state, 'passed', record.message);
  assert.deepEqual(applications(record).map((a) => [a.n, a.state]), [[1, 'passed']]);
  assert.equal(git(p.central, 'rev-parse', 'refs/keel/patches/P-1/1.1'), applications(record)[0]!.applied, 'made once: the push again was of the same commit');
  assert.equal((await d.keel('patches')).code, 0);
});

test('the dispatcher killed while a patch is tested, then the observer killed while the next is applied: both end with a result', async (t) => {
  const p = await patchWorld(t);
  const slow = p.series('slow', [{ BLOCK: '', 'tests/ok.t': 'exit 0\n' }], { cover: 'Slow' });
  assert.equal((await p.d.keel('patch', slow)).code, 0);
  await p.scripts.started('block');
  await p.stop(p.d, 'SIGKILL');
  const d = await p.dispatcher({ port: p.d.port });
  p.scripts.release();
  assert.equal((await p.waitPatch('P-1', (r) => r.state !== 'open', 'the tested patch to finish')).state, 'passed');

  const next = p.series('next', [{ 'tests/next.t': 'exit 0\n' }], { cover: 'Next' });
  const pushes = holdPushes(p.central, p.control, p.until, 'refs/keel/patches/*');
  assert.equal((await d.keel('patch', next)).code, 0);
  await pushes.held();
  await p.stop(p.watcher, 'SIGKILL');
  pushes.release();
  p.observer(d, { extra: ['--branch', 'main'] });
  const record = await p.waitPatch('P-2', (r) => r.state !== 'open', 'the applied patch to be tested');
  assert.equal(record.state, 'passed', record.message);
});
