// Placement as a pure function, table-driven: (queue, runners, now) →
// assignments, and why a job waits. No sockets, no timers, no journal.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { place, waitReason, type RunnerView } from '../../src/dispatcher/placement.js';
import type { QueuedJob } from '../../src/dispatcher/state.js';
import type { BuildRecord, JobRecord } from '../../src/protocol/records.js';

const NOW = Date.parse('2026-01-01T00:00:00.000Z');

function queued(name: string, options: { labels?: string[]; notBefore?: number } = {}): QueuedJob {
  const job = {
    name, spec: { id: name, title: name, run: null, env: {}, timeoutMs: null, retries: 0, retryDelayMs: 0, labels: options.labels ?? [], junit: null },
    status: 'queued', notBefore: options.notBefore === undefined ? null : new Date(options.notBefore).toISOString(), message: '',
  } as unknown as JobRecord;
  return { build: { commit: 'a'.repeat(40) } as BuildRecord, job };
}

function runner(name: string, slots: number, busy = 0, labels: string[] = [], draining = false): RunnerView {
  return { name, slots, busy, labels, draining };
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
  { name: 'a draining runner counts as busy', job: queued('a'), runners: [runner('r1', 1, 0, [], true)], position: 1, want: 'all 1 runner busy' },
  { name: 'a slot is free: its turn comes', job: queued('a'), runners: [runner('r1', 2, 1)], position: 4, want: 'position 4 in the queue' },
  { name: 'a retry delay says so', job: { ...queued('a', { notBefore: NOW + 1000 }), job: { ...queued('a', { notBefore: NOW + 1000 }).job, message: 'failed; retry 1 of 2' } }, runners: [runner('r1', 1)], position: 1, want: 'failed; retry 1 of 2' },
];

for (const r of reasons) {
  test(`waitReason: ${r.name}`, () => {
    assert.equal(waitReason(r.job.job, r.runners, r.position, NOW), r.want);
  });
}
