// Placement as a pure function, table-driven: (queue, runners, now) →
// assignments, and why a job waits. No sockets, no timers, no journal.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { place, waitReason, type RunnerView } from '../../src/dispatcher/placement.js';
import type { QueuedJob } from '../../src/dispatcher/state.js';
import type { BuildRecord, JobRecord } from '../../src/protocol/records.js';

const NOW = Date.parse('2026-01-01T00:00:00.000Z');

/** An attempt that ended on `runner`: `infra` for the runner's reasons, `lost` when it died, else a test failure. */
type Past = { runner: string; how: 'infra' | 'lost' | 'failed' };

function queued(name: string, options: { labels?: string[]; notBefore?: number; attempts?: Past[] } = {}): QueuedJob {
  const attempts = (options.attempts ?? []).map((past, i) => ({
    attempt: i + 1, lease: `l${i}`, runner: past.runner, status: past.how === 'lost' ? 'lost' : past.how === 'infra' ? 'error' : 'failed',
    infra: past.how === 'infra', startedAt: new Date(NOW - 1000).toISOString(), endedAt: new Date(NOW - 500).toISOString(),
    durationMs: 500, exitCode: null, signal: null, timedOut: false, message: '',
  }));
  const job = {
    name, spec: { id: name, title: name, run: null, env: {}, timeoutMs: null, retries: 0, retryDelayMs: 0, labels: options.labels ?? [], junit: null },
    status: 'queued', notBefore: options.notBefore === undefined ? null : new Date(options.notBefore).toISOString(), message: '', attempts,
  } as unknown as JobRecord;
  return { build: { commit: 'a'.repeat(40) } as BuildRecord, job };
}

function runner(name: string, slots: number, busy = 0, labels: string[] = [], draining = false, more: Partial<RunnerView> = {}): RunnerView {
  return { name, slots, busy, labels, draining, ...more };
}

interface Case {
  name: string;
  queue: QueuedJob[];
  runners: RunnerView[];
  /** Job → runner, in assignment order. */
  want: Array<[string, string]>;
  nextDueAt?: number | null;
}

const cases: Case[] = [
  { name: 'no runners: nothing is placed', queue: [queued('a')], runners: [], want: [] },
  { name: 'one free slot takes the oldest job', queue: [queued('a'), queued('b')], runners: [runner('r1', 1)], want: [['a', 'r1']] },
  { name: 'a full runner takes nothing', queue: [queued('a')], runners: [runner('r1', 2, 2)], want: [] },
  { name: 'a draining runner takes nothing', queue: [queued('a')], runners: [runner('r1', 4, 0, [], true)], want: [] },
  {
    name: 'jobs go to the runner with the most free slots',
    queue: [queued('a'), queued('b'), queued('c')],
    runners: [runner('small', 1), runner('big', 4, 1)],
    want: [['a', 'big'], ['b', 'big'], ['c', 'small']],
  },
  {
    name: 'a job needs every one of its labels',
    queue: [queued('gpu', { labels: ['gpu', 'linux'] }), queued('any')],
    runners: [runner('linux', 1, 0, ['linux']), runner('gpu', 1, 0, ['gpu', 'linux'])],
    want: [['gpu', 'gpu'], ['any', 'linux']],
  },
  {
    name: 'a job nobody can take does not hold up the rest',
    queue: [queued('gpu', { labels: ['gpu'] }), queued('a'), queued('b')],
    runners: [runner('cpu', 2)],
    want: [['a', 'cpu'], ['b', 'cpu']],
  },
  {
    name: 'a job waiting out its retry delay is skipped, and says when it is due',
    queue: [queued('later', { notBefore: NOW + 5000 }), queued('now')],
    runners: [runner('r1', 2)],
    want: [['now', 'r1']],
    nextDueAt: NOW + 5000,
  },
  {
    name: 'a retry that is due is placed',
    queue: [queued('due', { notBefore: NOW - 1 })],
    runners: [runner('r1', 1)],
    want: [['due', 'r1']],
    nextDueAt: null,
  },
  {
    name: 'with every slot taken the rest of a long queue waits',
    queue: Array.from({ length: 1000 }, (_, i) => queued(`j${i}`)),
    runners: [runner('r1', 2), runner('r2', 1)],
    want: [['j0', 'r1'], ['j1', 'r1'], ['j2', 'r2']],
  },
  { name: 'a paused runner takes nothing', queue: [queued('a')], runners: [runner('r1', 2, 0, [], false, { paused: true })], want: [] },
  { name: 'an unhealthy runner takes nothing', queue: [queued('a')], runners: [runner('r1', 2, 0, [], false, { unhealthy: true })], want: [] },
  {
    name: 'paused and unhealthy runners leave the work to the others',
    queue: [queued('a'), queued('b')],
    runners: [runner('p', 4, 0, [], false, { paused: true }), runner('u', 4, 0, [], false, { unhealthy: true }), runner('ok', 1)],
    want: [['a', 'ok']],
  },
  {
    name: 'after an infrastructure failure on a runner, the next attempt goes to another, though the first has more free slots',
    queue: [queued('a', { attempts: [{ runner: 'broken', how: 'infra' }] })],
    runners: [runner('broken', 4), runner('healthy', 1)],
    want: [['a', 'healthy']],
  },
  {
    name: 'so after a runner was lost with the job',
    queue: [queued('a', { attempts: [{ runner: 'gone', how: 'lost' }] })],
    runners: [runner('gone', 4), runner('other', 1)],
    want: [['a', 'other']],
  },
  {
    name: 'a job that failed on a runner waits for the other, busy, one rather than go back',
    queue: [queued('a', { attempts: [{ runner: 'broken', how: 'infra' }] }), queued('b')],
    runners: [runner('broken', 1), runner('healthy', 1, 1)],
    want: [['b', 'broken']],
  },
  {
    name: 'a job that failed on every runner able to take it goes back to one of them',
    queue: [queued('a', { attempts: [{ runner: 'r1', how: 'infra' }, { runner: 'r2', how: 'infra' }] })],
    runners: [runner('r1', 1), runner('r2', 2)],
    want: [['a', 'r2']],
  },
  {
    name: 'the only other runner is paused: the job goes back to the one it failed on',
    queue: [queued('a', { attempts: [{ runner: 'broken', how: 'infra' }] })],
    runners: [runner('broken', 1), runner('paused', 1, 0, [], false, { paused: true })],
    want: [['a', 'broken']],
  },
  {
    name: 'a test failure is no reason to avoid the runner',
    queue: [queued('a', { attempts: [{ runner: 'big', how: 'failed' }] })],
    runners: [runner('big', 4), runner('small', 1)],
    want: [['a', 'big']],
  },
  {
    name: 'another runner without the labels is no reason to wait',
    queue: [queued('a', { labels: ['gpu'], attempts: [{ runner: 'gpu1', how: 'infra' }] })],
    runners: [runner('gpu1', 1, 0, ['gpu']), runner('cpu', 4)],
    want: [['a', 'gpu1']],
  },
];

for (const c of cases) {
  test(`place: ${c.name}`, () => {
    const { assignments, nextDueAt } = place(c.queue, c.runners, NOW);
    assert.deepEqual(assignments.map(({ queued: q, runner: r }) => [q.job.name, r]), c.want);
    if (c.nextDueAt !== undefined) assert.equal(nextDueAt, c.nextDueAt);
  });
}

test('place does not change its arguments', () => {
  const queue = [queued('a'), queued('b')];
  const runners = [runner('r1', 1)];
  const before = JSON.stringify({ queue, runners });
  place(queue, runners, NOW);
  assert.equal(JSON.stringify({ queue, runners }), before);
});

const reasons: Array<{ name: string; job: QueuedJob; runners: RunnerView[]; position: number; want: string }> = [
  { name: 'no runner has the labels', job: queued('a', { labels: ['gpu'] }), runners: [runner('cpu', 1)], position: 1, want: 'waiting for a runner with labels gpu' },
  { name: 'no runner at all', job: queued('a'), runners: [], position: 1, want: 'waiting for a runner' },
  { name: 'all capable runners are busy', job: queued('a', { labels: ['linux'] }), runners: [runner('l1', 1, 1, ['linux']), runner('l2', 2, 2, ['linux']), runner('x', 4)], position: 3, want: 'all 2 runners with labels linux busy' },
  { name: 'a draining runner takes nothing', job: queued('a'), runners: [runner('r1', 1, 0, [], true)], position: 1, want: 'no runner free: 1 draining' },
  {
    name: 'busy, paused and unhealthy runners are each counted',
    job: queued('a', { labels: ['linux'] }),
    runners: [runner('b', 1, 1, ['linux']), runner('p', 1, 0, ['linux'], false, { paused: true }), runner('u', 2, 0, ['linux'], false, { unhealthy: true })],
    position: 2, want: 'no runner with labels linux free: 1 busy, 1 paused, 1 unhealthy',
  },
  {
    name: 'a job that failed on the only free runner waits for another',
    job: queued('a', { attempts: [{ runner: 'broken', how: 'infra' }] }),
    runners: [runner('broken', 2), runner('h1', 1, 1), runner('h2', 1, 1)],
    position: 1, want: 'waiting for a runner other than broken, where it failed (all 2 others busy)',
  },
  { name: 'a slot is free: its turn comes', job: queued('a'), runners: [runner('r1', 2, 1)], position: 4, want: 'position 4 in the queue' },
  { name: 'a retry delay says so', job: { ...queued('a', { notBefore: NOW + 1000 }), job: { ...queued('a', { notBefore: NOW + 1000 }).job, message: 'failed; retry 1 of 2' } }, runners: [runner('r1', 1)], position: 1, want: 'failed; retry 1 of 2' },
];

for (const r of reasons) {
  test(`waitReason: ${r.name}`, () => {
    assert.equal(waitReason(r.job.job, r.runners, r.position, NOW), r.want);
  });
}

test('waitReason: while result files are not written, every queued job waits for disk', () => {
  assert.equal(waitReason(queued('a').job, [runner('r1', 4)], 3, NOW, { unwritten: 256 }),
    'waiting for disk: 256 finished builds\' result files are not written yet (--max-unwritten)');
});
