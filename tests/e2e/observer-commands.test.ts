// Observers as peers, end to end: `keel build BRANCH` asks the project's real
// observer process where the branch points (a command the dispatcher keeps
// in its journal until answered) and builds that commit; a command for an
// observer that is not connected waits, through a dispatcher restart, until
// one is; and one observer cannot act on another project's work.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { world } from '../helpers/e2e.js';
import { connectAs, connectObserver } from '../helpers/e2e-wire.js';

const PASSING = { 'tests/ok.sh': '#!/bin/sh\necho ok\n' };

test('keel build BRANCH builds the head the observer resolves, runs a built head again, and names a branch that is not there', async (t) => {
  const w = world(t);
  const head = w.push(PASSING, 'first');
  w.cloneFor();
  const dispatcher = await w.dispatcher();
  await w.runner('r1', dispatcher);
  // Watching main only, so a commit on another branch is one it never reports itself.
  const observer = w.observer(dispatcher, { extra: ['--branch', 'main'] });
  await observer.delivered(head);
  assert.equal((await w.result(head)).run, 1);

  const again = await dispatcher.keel('build', 'main');
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stdout, new RegExp(`^C-1: retrying ${head} \\(refs/heads/main\\)`));
  const second = await w.result(head, { check: (record) => record.run === 2 });
  assert.equal(second.status, 'passed');
  assert.equal(second.jobs[0].attempts.length, 2, 'the first run stays on record');

  // A branch the observer does not watch: its head is resolved in origin and queued.
  const side = w.push({ 'side.txt': 'side\n' }, 'on a side branch', { branch: 'HEAD:refs/heads/side' });
  const built = await dispatcher.keel('build', 'side');
  assert.equal(built.code, 0, built.stderr);
  assert.match(built.stdout, new RegExp(`^C-2: queued ${side} \\(refs/heads/side\\)`));
  assert.equal((await w.result(side)).ref, 'refs/heads/side');

  const missing = await dispatcher.keel('build', 'no-such-branch');
  assert.equal(missing.code, 1);
  assert.match(missing.stdout, /^C-3: there is no refs\/heads\/no-such-branch in origin/);
  for (const bad of [['--', '--upload-pack=x'], ['a..b'], ['x', 'y']]) {
    const usage = await dispatcher.keel('build', ...bad);
    assert.equal(usage.code, 2, bad.join(' '));
    assert.match(usage.stderr, /BRANCH must be one branch name/);
  }
});

test('a command for an observer that is not connected waits in the journal, through a restart, until one connects', async (t) => {
  const w = world(t);
  const head = w.push(PASSING, 'first');
  w.cloneFor();
  const first = await w.dispatcher();
  await w.runner('r1', first);
  const asked = await first.keel('build', 'main');
  assert.equal(asked.code, 0, asked.stderr);
  assert.match(asked.stdout, /C-1: no observer of the default project is connected; it is asked as soon as one is/);

  await w.stop(first, 'SIGKILL');
  const second = await w.dispatcher({ port: first.port });
  await w.runner('r2', second);
  w.observer(second, { interval: '3600' });
  const record = await w.result(head);
  assert.equal(record.status, 'passed');
  // Asked once by the command and once by the observer's first scan: one build, in one run.
  assert.equal(record.run, 1);
});

test('an observer speaks only for its own project: a second one is refused, and an answer to another project\'s command changes nothing', async (t) => {
  const w = world(t);
  const d = await w.inProcess();
  const first = await connectObserver(t, d.port, { repo: w.central, project: 'app' }, { name: 'app-observer' });
  const rival = await connectAs(t, d.port, 'observer', 'rival');
  rival.send({ type: 'observe', project: 'app', repo: '/srv/git/evil.git', supersede: false });
  const taken = await rival.next('error');
  assert.equal(taken.code, 'project-taken');
  assert.match(taken.message, /already has a live observer \(app-observer\)/);

  const other = await connectObserver(t, d.port, { repo: '/srv/git/lib.git', project: 'lib' }, { name: 'lib-observer' });
  const admin = await connectAs(t, d.port, 'admin', 'owner');
  admin.send({ type: 'build', ref: 'refs/heads/main', commit: null, project: 'app' });
  const command = await first.peer.next('command');
  assert.deepEqual(command.command, { op: 'resolve', ref: 'refs/heads/main' });
  other.peer.send({ type: 'command-result', id: command.id, ok: true, code: null, message: 'forged', commit: 'f'.repeat(40), answer: null });
  assert.equal((await other.peer.next('error')).code, 'not-your-command');
  assert.equal(admin.received.some((m) => m.type === 'done'), false, 'the forged answer did not finish the command');

  first.peer.send({ type: 'command-result', id: command.id, ok: false, code: 'unknown-ref', message: 'there is no refs/heads/main in origin', commit: null, answer: null });
  const done = await admin.next('done');
  assert.deepEqual({ ok: done.ok, code: done.code }, { ok: false, code: 'unknown-ref' });
  assert.match(done.message, new RegExp(`^${command.id}: there is no refs/heads/main in origin`));
  assert.equal(other.peer.received.some((m) => m.type === 'command'), false, 'the other project\'s observer was never asked');
});
