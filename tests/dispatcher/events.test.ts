// `finished` events on real sockets: sent once the build is durable, with a
// line per job; sent again after every reconnect (and a dispatcher restart)
// until the observer says `heard`; an observer of another project cannot
// take them away.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { inProcess, outcomeOf } from '../helpers/in-process.js';
import { TestPeer } from '../helpers/peer.js';

const SHA = ['a', 'b'].map((c) => c.repeat(40));

test('a finished event waits until its observer says heard, through reconnects and a restart', async (t) => {
  const h = inProcess(t, { repo: '/srv/git/app.git' });
  const dispatcher = await h.start();
  const runner = await h.runner('r1');
  await h.commit(SHA[0]!);
  await h.finish(runner, outcomeOf('failed'));
  const first = await (await h.observer()).next('finished');
  assert.equal(first.build.commit, SHA[0]);
  assert.equal(first.build.status, 'failed');
  assert.deepEqual(first.jobs.map((job) => [job.name, job.status, job.counts?.failed]), [['tests', 'failed', 2]]);

  // Not heard: the next connection of the project's observer is told again.
  (await h.observer()).close();
  const again = await (await h.observer()).next('finished');
  assert.equal(again.id, first.id);

  // Another project's observer cannot take it.
  const other = await TestPeer.observer(dispatcher.port, '/srv/git/other.git', { project: 'other' });
  t.after(() => other.close());
  other.send({ type: 'heard', id: first.id });

  await h.stop();
  await h.start();
  const afterRestart = await (await h.observer()).next('finished');
  assert.equal(afterRestart.id, first.id, 'kept in the journal');
  (await h.observer()).send({ type: 'heard', id: first.id });
  const r2 = await h.runner('r1');
  await h.commit(SHA[1]!);
  await h.finish(r2);
  const next = await (await h.observer()).next('finished');
  assert.equal(next.build.commit, SHA[1], 'the next event, after the heard one');
  (await h.observer()).send({ type: 'heard', id: next.id });
  // Messages of a connection are handled in order: once this is answered, `heard` was taken.
  await h.commit(SHA[1]!);

  await h.stop();
  await h.start();
  const observer = await h.observer();
  // A commit round trip: anything sent at registration has arrived before its answer.
  await h.commit(SHA[0]!);
  assert.ok(!observer.received.some((message) => message.type === 'finished'), 'nothing heard is sent again');
});
