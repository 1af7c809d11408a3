// When runners are started and stopped on demand: a pure table of
// (waiting jobs, runners, started runners, now) → actions.
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { planScaling, type ScaleView, type StartedRunner } from '../../src/dispatcher/autoscale-plan.js';

const RULES = { scaleAfterMs: 10_000, idleStopMs: 300_000, maxStarted: 4, startDeadlineMs: 120_000 };
const NOW = 1_000_000;
const view = (fields: Partial<ScaleView>): ScaleView => ({ waiting: [], runners: [], started: [], backoffUntil: 0, ...fields });
const started = (name: string, fields: Partial<StartedRunner> = {}): StartedRunner =>
  ({ name, labels: [], state: 'starting', reason: 'x', since: NOW, idleSince: null, ...fields });
const kinds = (v: ScaleView, now = NOW) => planScaling(v, RULES, now).map((a) => (a.kind === 'start' ? `start ${a.labels.join(',')}` : `${a.kind} ${a.name}`));

test('jobs that waited --scale-after get one runner each, grouped by their labels', () => {
  assert.deepEqual(kinds(view({ waiting: [{ labels: [], since: NOW - 9_999 }] })), [], 'not yet');
  assert.deepEqual(kinds(view({ waiting: [{ labels: [], since: NOW - 10_000 }] })), ['start ']);
  const waiting = [{ labels: ['gpu', 'linux'], since: 0 }, { labels: ['linux', 'gpu'], since: 5 }, { labels: [], since: 0 }];
  assert.deepEqual(kinds(view({ waiting })), ['start gpu,linux', 'start gpu,linux', 'start ']);
  const [action] = planScaling(view({ waiting: [{ labels: ['gpu'], since: NOW - 12_000 }] }), RULES, NOW);
  assert.equal(action?.kind === 'start' && action.reason, '1 job(s) waited 12 s for a runner with labels gpu');
});

test('runners already starting with the labels count; --max-started bounds them all', () => {
  const waiting = Array.from({ length: 6 }, () => ({ labels: ['gpu'], since: 0 }));
  assert.deepEqual(kinds(view({ waiting, started: [started('a', { labels: ['gpu', 'big'] })] })), ['start gpu', 'start gpu', 'start gpu']);
  assert.deepEqual(kinds(view({ waiting, started: [started('a', { labels: ['cpu'] })] })).length, 3, 'a runner without the labels does not count, but takes room');
  const four = ['a', 'b', 'c', 'd'].map((name) => started(name, { state: 'running', idleSince: null }));
  assert.deepEqual(kinds(view({ waiting, started: four })), []);
});

test('no start while backing off after failures', () => {
  const waiting = [{ labels: [], since: 0 }];
  assert.deepEqual(kinds(view({ waiting, backoffUntil: NOW + 1 })), []);
  assert.deepEqual(kinds(view({ waiting, backoffUntil: NOW })), ['start ']);
});

test('a runner that does not register by --start-deadline is a failed start, with no start in the same tick', () => {
  const late = started('late', { since: NOW - 120_000 });
  const waiting = [{ labels: [], since: 0 }];
  assert.deepEqual(kinds(view({ started: [late], waiting }), NOW), ['failed late'], 'the failure begins a backoff: a start now would skip it');
  assert.deepEqual(kinds(view({ waiting, backoffUntil: NOW + 1 })), [], 'forgotten, and backing off');
  assert.deepEqual(kinds(view({ started: [started('soon', { since: NOW - 119_999 })], waiting })), [], 'still within the deadline, and it counts');
});

test('a started runner idle for --idle-stop is stopped; a busy one, or one not connected, is not', () => {
  const runner = { name: 'a', slots: 1, busy: 0, labels: [], draining: false };
  const idle = started('a', { state: 'running', idleSince: NOW - 300_000 });
  assert.deepEqual(kinds(view({ started: [idle], runners: [runner] })), ['stop a']);
  assert.deepEqual(kinds(view({ started: [{ ...idle, idleSince: NOW - 299_999 }], runners: [runner] })), []);
  assert.deepEqual(kinds(view({ started: [{ ...idle, idleSince: null }], runners: [runner] })), []);
  assert.deepEqual(kinds(view({ started: [idle] })), []);
  assert.deepEqual(kinds(view({ started: [{ ...idle, state: 'stopping' }], runners: [runner] })), [], 'stopped once');
});
