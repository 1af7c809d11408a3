// Runner health as a pure function, table-driven: infrastructure failures in
// a row make a runner unhealthy for a back-off that doubles while it keeps
// failing; a job that runs makes it healthy again.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HEALTHY, isUnhealthy, next, RunnerHealth, type Health } from '../../src/dispatcher/runner-health.js';

const RULES = { after: 3, backoffMs: 60_000 };
const NOW = 1_000_000;
const infra = { infra: true, message: 'fetch failed' };
const ran = { infra: false, message: '' };

function run(steps: Array<typeof infra>, start: Health = HEALTHY): Health {
  return steps.reduce((health, step) => next(health, step, NOW, RULES), start);
}

const cases: Array<{ name: string; steps: Array<typeof infra>; start?: Health; want: Health }> = [
  { name: 'one failure is a streak, not yet unhealthy', steps: [infra], want: { streak: 1, strikes: 0, until: null, last: 'fetch failed' } },
  { name: 'three in a row: unhealthy for the back-off', steps: [infra, infra, infra], want: { streak: 0, strikes: 1, until: NOW + 60_000, last: 'fetch failed' } },
  { name: 'a job that ran in between resets the streak', steps: [infra, infra, ran, infra, infra], want: { streak: 2, strikes: 0, until: null, last: 'fetch failed' } },
  { name: 'a job that ran makes it healthy again', steps: [infra, infra, infra, ran], want: HEALTHY },
  {
    name: 'failing again right after a back-off starts a longer one at once',
    steps: [infra], start: { streak: 0, strikes: 1, until: NOW - 1, last: 'x' },
    want: { streak: 0, strikes: 2, until: NOW + 120_000, last: 'fetch failed' },
  },
  {
    name: 'the back-off stops growing at an hour',
    steps: [infra], start: { streak: 0, strikes: 30, until: NOW - 1, last: 'x' },
    want: { streak: 0, strikes: 31, until: NOW + 3_600_000, last: 'fetch failed' },
  },
];

for (const c of cases) {
  test(`health: ${c.name}`, () => assert.deepEqual(run(c.steps, c.start), c.want));
}

test('unhealthy only until the back-off ends', () => {
  const health = run([infra, infra, infra]);
  assert.equal(isUnhealthy(health, NOW), true);
  assert.equal(isUnhealthy(health, NOW + 60_000), false);
  assert.equal(isUnhealthy(undefined, NOW), false);
});

test('RunnerHealth says when a runner became unhealthy, describes it, and when the next back-off ends', () => {
  const health = new RunnerHealth(RULES);
  assert.equal(health.ended('r1', infra, NOW), null);
  assert.equal(health.ended('r1', infra, NOW), null);
  assert.deepEqual(health.ended('r1', infra, NOW)?.until, NOW + 60_000);
  assert.equal(health.unhealthy('r1', NOW), true);
  assert.equal(health.unhealthy('r2', NOW), false);
  assert.match(health.describe('r1', NOW)!, /^unhealthy until .* \(last: fetch failed\)$/);
  assert.equal(health.nextRecovery(NOW), NOW + 60_000);
  health.ended('r1', ran, NOW);
  assert.equal(health.describe('r1', NOW), null);
  assert.equal(health.nextRecovery(NOW), null);
});
