// A lease belongs to the runner connection it was handed to (issue 11.1):
// with a valid runner token, a second runner that learns another's lease
// cannot send a result or output for it, cannot move its slots, and no
// query shows it the lease to begin with. Lease ids are random.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { world } from '../helpers/e2e.js';
import { keyFor, MASTER } from '../helpers/e2e-secret.js';
import { connectObserver, connectRunner, outputMessage, passedOutcome, resultMessage } from '../helpers/e2e-wire.js';

/** Lease ids of the journal's assign records, in order: what only the dispatcher and each runner know. */
function assignedLeases(state: string): Array<{ lease: string; runner: string; key: string }> {
  return readFileSync(join(state, 'dispatcher.journal'), 'utf8').split('\n').filter(Boolean)
    .map((line) => JSON.parse(line.slice(line.indexOf(' ') + 1)))
    .filter((record) => record.op === 'assign');
}

test('a runner cannot forge another runner\'s verdict or output, nor move its slots; leases are random and never shown', async (t) => {
  const w = world(t);
  const real = w.push({ 'tests/run.sh': w.scripts.blocking('real', 1) }, 'fails once released');
  w.cloneFor();
  const d = await w.dispatcher({ secret: MASTER });
  await w.runner('honest', d, { env: { KEEL_TOKEN: MASTER } });
  const observer = await connectObserver(t, d.port, { repo: w.central }, { key: keyFor('observer') });
  await observer.report(real);
  await w.scripts.started('real');

  const forger = await connectRunner(t, d.port, { name: 'forger' }, { key: keyFor('runner') });
  const bait = w.push({ 'bait.txt': 'bait\n' }, 'a job for the forger');
  await observer.report(bait);
  const own = await forger.next('job');
  assert.equal(own.commit, bait);
  forger.send({ type: 'drain' });

  // What the forger could not have guessed, taken from the dispatcher's own journal.
  const honest = assignedLeases(w.state).find((a) => a.runner === 'honest')!;
  assert.match(honest.lease, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/, 'a lease id is a random UUID (122 random bits)');
  assert.notEqual(honest.lease.slice(0, 8), own.lease.slice(0, 8), 'no shared prefix to guess from');

  forger.send(outputMessage(honest.lease, 'FORGED OUTPUT\n'));
  forger.send(resultMessage(honest.lease, passedOutcome()));
  forger.send(resultMessage(honest.lease, passedOutcome()));
  for (let i = 0; i < 3; i++) assert.equal((await forger.next('error')).code, 'not-your-lease');
  assert.equal(forger.isClosed, false, 'a refusal, not a disconnection');

  // The honest runner's slot is still its own: a third commit waits instead of joining it.
  const third = w.push({ 'third.txt': '3\n' }, 'waits for a free slot');
  await observer.report(third);
  const overview = await d.status();
  assert.deepEqual(overview.runners.find((r) => r.name === 'honest')?.busy, 1);
  assert.equal(overview.builds.find((b) => b.commit === third)?.status, 'queued');
  const shown = (await d.status(real)).record!;
  assert.equal(shown.status, 'running');
  assert.ok(shown.jobs.every((job) => job.attempts.every((a) => a.lease === '')), 'a query never shows a lease id');

  w.scripts.release();
  const record = await w.result(real);
  assert.equal(record.status, 'failed', 'the honest runner\'s verdict stands');
  assert.equal(record.jobs[0].runner, 'honest');
  assert.equal(record.jobs[0].attempts.length, 1);
  assert.doesNotMatch(readFileSync(join(w.results, `${real}.log`), 'utf8'), /FORGED OUTPUT/);
  // Log kept: the one place a refusal is counted; repeated ones are logged once.
  assert.equal(d.count(/not held by this connection/), 1, w.logs());
  // Its own lease still works for the forger: the refusal was about the lease, not about it.
  forger.send(resultMessage(own.lease, passedOutcome()));
  assert.equal((await forger.next('recorded')).accepted, true);
  assert.equal((await w.result(third)).jobs[0].runner, 'honest', 'the waiting commit ran on the honest runner once its slot was free');
});
