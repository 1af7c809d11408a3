// The reducer as a pure function of plain values, table-driven: a list of
// journal records in, the state out. Also: every state a retry or a cancel
// can meet, the same state reached through a snapshot, and journals and
// snapshots written by the dispatcher before builds had subjects.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { DISPATCHER_JOURNAL } from '../../src/dispatcher/journal-format.js';
import { overview } from '../../src/dispatcher/queries.js';
import { buildKey, type JournalRecord } from '../../src/dispatcher/records.js';
import { reduce } from '../../src/dispatcher/reducer.js';
import { RunnerRegistry } from '../../src/dispatcher/runner-registry.js';
import { emptyState, snapshotOf, stateFrom, type State } from '../../src/dispatcher/state.js';
import { encode } from '../../src/protocol/codec.js';
import type { JobSpec, RunOutcome, Subject } from '../../src/protocol/records.js';
import type { Batch, LandRequest } from '../../src/dispatcher/gate/types.js';
import { KEPT_FINISHED_REQUESTS } from '../../src/dispatcher/gate/retention.js';

const RULES = { maxAttempts: 3 };
const AT = '2026-01-01T00:00:00.000Z';
const REPO = '/srv/git/app.git';
const A = 'a'.repeat(40);
const B = 'b'.repeat(40);

function spec(id: string, retries = 0): JobSpec {
  return { id, title: id, run: null, env: {}, timeoutMs: null, retries, retryDelayMs: 1000, labels: [], junit: null };
}

const commit = (sha: string, options: { jobs?: JobSpec[]; error?: string; ref?: string; supersede?: boolean; subject?: Subject; background?: boolean } = {}): JournalRecord => ({
  op: 'commit', commit: sha, repo: REPO, ref: options.ref ?? 'refs/heads/main', project: null,
  ...(options.subject ? { subject: options.subject } : {}), ...(options.background ? { background: true } : {}),
  supersede: options.supersede ?? false, jobs: options.jobs ?? [spec('tests')], error: options.error ?? null, at: AT,
});
const assign = (sha: string, job: string, lease: string): JournalRecord => ({ op: 'assign', key: sha, job, lease, runner: 'r1', at: AT });
const outcome = (status: RunOutcome['status'], infra = false): RunOutcome => ({
  status, exitCode: status === 'passed' ? 0 : 1, signal: null, timedOut: false, startedAt: AT, durationMs: 1, command: [],
  message: status === 'passed' ? '' : 'it failed', counts: null, infra, cancelled: false, failedTests: [], junit: null,
});
const result = (lease: string, status: RunOutcome['status'], infra = false): JournalRecord => ({ op: 'result', lease, outcome: outcome(status, infra), junitFile: null, at: AT });
const lost = (lease: string): JournalRecord => ({ op: 'lost', lease, reason: 'gone', at: AT });
const cancel = (sha: string): JournalRecord => ({ op: 'cancel', key: sha, by: 'admin owner', at: AT });
const written = (sha: string, run?: number): JournalRecord => ({ op: 'written', key: sha, ...(run === undefined ? {} : { run }) });
/** A retry of the build as the state holds it now, as the dispatcher records one. */
const retryOf = (state: State, sha: string, job: string | null = null): JournalRecord => ({ op: 'retry', build: structuredClone(state.builds.get(sha)!), job, by: 'admin owner', at: AT });

const request = (seq: number, over: boolean): LandRequest => ({
  id: `L-${seq}`, kind: 'land', project: null, branch: 'refs/heads/x', target: 'refs/heads/main', head: A, priority: 0, squash: false,
  by: 'admin owner', state: over ? 'landed' : 'queued', message: '', queuedAt: AT, endedAt: over ? AT : null, flaky: false,
  landedAs: over ? B : null, builds: [], batch: null, seq, order: seq, group: null, known: [],
});
const batch = (n: number, fields: Partial<Batch> = {}): Batch => ({
  id: `B-${n}`, kind: 'land', project: null, target: 'refs/heads/main', requests: [], state: 'done', attempt: 1, repo: REPO,
  base: A, commit: B, onto: null, retry: 'none', verdict: null, failing: [], endedAt: AT, pruned: false, ...fields,
});
const gate = (requests: LandRequest[], batches: Batch[], counts = { requests: requests.length, batches: batches.length, order: requests.length }): JournalRecord => ({
  op: 'gate', requests, batches, counts, at: AT,
});

function run(records: Array<JournalRecord | ((state: State) => JournalRecord)>): { state: State; finished: string[] } {
  const state = emptyState();
  const finished: string[] = [];
  for (const record of records) {
    for (const build of reduce(state, typeof record === 'function' ? record(state) : record, RULES)) finished.push(`${build.commit.slice(0, 1)}:${build.status}`);
  }
  return { state, finished };
}

const statusOf = (state: State, sha: string) => state.builds.get(sha)?.status ?? 'gone';
const queueOf = (state: State) => state.queue.map(({ build, job }) => `${build.commit.slice(0, 1)}/${job.name}`);

interface Case {
  name: string;
  records: Array<JournalRecord | ((state: State) => JournalRecord)>;
  check(state: State, finished: string[]): void;
}

const cases: Case[] = [
  {
    name: 'a background build\'s jobs (a patch\'s retest) wait behind every ordinary build\'s, queued before or after',
    records: [
      commit(A, { background: true, subject: { kind: 'patch', base: B, request: 'P-1', requests: [] }, jobs: [spec('unit'), spec('lint')] }),
      commit(B),
      commit('c'.repeat(40), { jobs: [spec('x')] }),
    ],
    check: (s) => {
      assert.deepEqual(queueOf(s), ['b/tests', 'c/x', 'a/unit', 'a/lint']);
      assert.equal([...s.builds.values()].find((b) => b.commit === A)!.background, true);
    },
  },
  {
    name: 'gate records put requests and batches as they are now; counts never go back',
    records: [
      gate([request(1, false)], [batch(1, { state: 'merging', commit: null })]),
      gate([{ ...request(1, true), message: 'landed' }], [batch(1)], { requests: 1, batches: 1, order: 1 }),
      gate([], [], { requests: 0, batches: 0, order: 0 }),
    ],
    check: (s) => {
      assert.equal(s.requests.get('L-1')!.state, 'landed');
      assert.equal(s.batches.get('B-1')!.state, 'done');
      assert.deepEqual(s.gateCounts, { requests: 1, batches: 1, order: 1 });
    },
  },
  {
    name: 'the oldest finished requests are forgotten past the number kept; open ones never',
    records: [
      gate([request(1, false)], []),
      gate(Array.from({ length: KEPT_FINISHED_REQUESTS + 2 }, (_, i) => request(i + 2, true)), [], { requests: KEPT_FINISHED_REQUESTS + 3, batches: 0, order: KEPT_FINISHED_REQUESTS + 3 }),
    ],
    check: (s) => {
      assert.equal(s.requests.size, KEPT_FINISHED_REQUESTS + 1);
      assert.ok(s.requests.has('L-1'), 'the open request is kept');
      assert.ok(!s.requests.has('L-2') && !s.requests.has('L-3'), 'the two oldest finished are forgotten');
      assert.ok(s.requests.has(`L-${KEPT_FINISHED_REQUESTS + 3}`));
    },
  },
  {
    name: 'a batch is forgotten once it is over and its ref is removed',
    records: [
      gate([], [batch(1, { pruned: true }), batch(2, { state: 'testing' }), batch(3)]),
    ],
    check: (s) => {
      assert.deepEqual([...s.batches.keys()].sort(), ['B-2', 'B-3'], 'B-1 goes; B-2 is under way; B-3 keeps its ref');
    },
  },
  {
    name: 'a commit queues its jobs',
    records: [commit(A, { jobs: [spec('unit'), spec('lint')] })],
    check: (s, f) => {
      assert.equal(statusOf(s, A), 'queued');
      assert.deepEqual(queueOf(s), ['a/unit', 'a/lint']);
      assert.deepEqual(f, []);
    },
  },
  {
    name: 'a commit whose keel.json is bad finishes as error at once',
    records: [commit(A, { jobs: [], error: 'keel.json: jobs is missing' })],
    check: (s, f) => {
      assert.deepEqual(f, ['a:error']);
      assert.ok(s.unwritten.has(A));
      assert.equal(s.builds.get(A)!.message, 'keel.json: jobs is missing');
    },
  },
  {
    name: 'the same commit twice is one build',
    records: [commit(A), commit(A)],
    check: (s) => assert.deepEqual(queueOf(s), ['a/tests']),
  },
  {
    name: 'an assign starts an attempt and takes the job off the queue',
    records: [commit(A), assign(A, 'tests', 'L1')],
    check: (s) => {
      assert.equal(statusOf(s, A), 'running');
      assert.deepEqual(queueOf(s), []);
      assert.equal(s.leases.get('L1')?.attempt.attempt, 1);
    },
  },
  {
    name: 'records that no longer fit change nothing: unknown build, unknown job, a job already running, a reused lease',
    records: [commit(A), assign(B, 'tests', 'L0'), assign(A, 'nope', 'L0'), assign(A, 'tests', 'L1'), assign(A, 'tests', 'L2'), result('L9', 'passed'), lost('L9'), cancel(B), written(B)],
    check: (s) => {
      assert.deepEqual([...s.leases.keys()], ['L1']);
      assert.equal(s.builds.get(A)!.jobs[0]!.attempts.length, 1);
      assert.equal(s.builds.size, 1);
    },
  },
  {
    name: 'a passing result finishes the build; written forgets it',
    records: [commit(A), assign(A, 'tests', 'L1'), result('L1', 'passed'), written(A, 1)],
    check: (s, f) => {
      assert.deepEqual(f, ['a:passed']);
      assert.equal(statusOf(s, A), 'gone');
      assert.equal(s.unwritten.size, 0);
      assert.equal(s.recent[0]!.status, 'passed');
    },
  },
  {
    name: 'a failure with retries left waits at the front of the queue for its delay',
    records: [commit(B), commit(A, { jobs: [spec('tests', 2)] }), assign(A, 'tests', 'L1'), result('L1', 'failed')],
    check: (s) => {
      assert.deepEqual(queueOf(s), ['a/tests', 'b/tests']);
      const job = s.builds.get(A)!.jobs[0]!;
      assert.equal(job.notBefore, new Date(Date.parse(AT) + 1000).toISOString());
      assert.equal(job.message, 'failed; retry 1 of 2');
    },
  },
  {
    name: 'a lost runner requeues the job at the front; the third loss gives up',
    records: [commit(B), commit(A), assign(A, 'tests', 'L1'), lost('L1'), assign(A, 'tests', 'L2'), lost('L2'), assign(A, 'tests', 'L3'), lost('L3')],
    check: (s, f) => {
      assert.deepEqual(f, ['a:error']);
      assert.match(s.builds.get(A)!.message, /runner lost or failing 3 times/);
      assert.deepEqual(queueOf(s), ['b/tests']);
    },
  },
  {
    name: 'an infrastructure failure is tried again, and is never flaky',
    records: [commit(A), assign(A, 'tests', 'L1'), result('L1', 'error', true), assign(A, 'tests', 'L2'), result('L2', 'passed')],
    check: (s, f) => {
      assert.deepEqual(f, ['a:passed']);
      assert.equal(s.builds.get(A)!.flaky, false);
    },
  },
  {
    name: 'a cancel stops queued and running jobs and drops their leases',
    records: [commit(A, { jobs: [spec('one'), spec('two')] }), assign(A, 'one', 'L1'), cancel(A)],
    check: (s, f) => {
      assert.deepEqual(f, ['a:cancelled']);
      assert.equal(s.leases.size, 0);
      assert.deepEqual(queueOf(s), []);
      assert.deepEqual(s.builds.get(A)!.jobs.map((job) => job.attempts.at(-1)?.status ?? '-'), ['cancelled', '-']);
    },
  },
  {
    name: 'a cancel of a finished build changes nothing',
    records: [commit(A), assign(A, 'tests', 'L1'), result('L1', 'failed'), cancel(A)],
    check: (s) => assert.equal(statusOf(s, A), 'failed'),
  },
  {
    name: 'a newer commit on a branch skips older builds that never started, if asked to',
    records: [commit(A, { supersede: true }), commit(B, { supersede: true })],
    check: (s, f) => {
      assert.deepEqual(f, ['a:skipped']);
      assert.match(s.builds.get(A)!.message, new RegExp(`superseded by ${B}`));
      assert.deepEqual(queueOf(s), ['b/tests']);
    },
  },
  {
    name: 'a land build of a commit and its push are two builds',
    records: [commit(A), commit(A, { subject: { kind: 'land', base: B, request: 'B-1', requests: ['L-1'] } })],
    check: (s) => {
      assert.equal(s.builds.size, 2);
      assert.ok(s.builds.has(buildKey(null, { kind: 'land', request: 'B-1' }, A)));
      assert.deepEqual(queueOf(s), ['a/tests', 'a/tests']);
    },
  },
  {
    name: 'commands wait in the state until done',
    records: [
      { op: 'command', id: 'C-1', project: null, command: { op: 'resolve', ref: 'refs/heads/main' }, by: 'admin owner', at: AT },
      { op: 'command', id: 'C-2', project: 'lib', command: { op: 'resolve', ref: 'refs/heads/x' }, by: 'admin owner', at: AT },
      { op: 'command-done', id: 'C-1', ok: true, code: null, message: 'done', commit: A, at: AT },
    ],
    check: (s) => {
      assert.deepEqual([...s.commands.keys()], ['C-2']);
      assert.equal(s.commandCount, 2);
    },
  },
];

for (const c of cases) {
  test(`reduce: ${c.name}`, () => {
    const { state, finished } = run(c.records);
    c.check(state, finished);
  });
}

// Every state a retry or a cancel can meet, each also after a replay from a snapshot.
const retries: Case[] = [
  {
    name: 'retry of a queued build is refused by the reducer too',
    records: [commit(A), (s) => ({ ...retryOf(s, A), build: { ...s.builds.get(A)!, status: 'passed' } })],
    check: (s) => assert.equal(s.builds.get(A)!.run, 1),
  },
  {
    name: 'retry of a running build changes nothing',
    records: [commit(A), assign(A, 'tests', 'L1'), (s) => ({ ...retryOf(s, A), build: { ...s.builds.get(A)!, status: 'failed' } })],
    check: (s) => {
      assert.equal(statusOf(s, A), 'running');
      assert.equal(s.builds.get(A)!.run, 1);
    },
  },
  {
    name: 'retry of a build finished but not written: a new run, and the old run\'s `written` leaves it alone',
    records: [commit(A), assign(A, 'tests', 'L1'), result('L1', 'failed'), (s) => retryOf(s, A), written(A, 1)],
    check: (s) => {
      assert.equal(statusOf(s, A), 'queued');
      assert.equal(s.builds.get(A)!.run, 2);
      assert.equal(s.unwritten.has(A), false);
      assert.deepEqual(queueOf(s), ['a/tests']);
    },
  },
  {
    name: 'the new run finishes unwritten again: a query of it works, and its own `written` forgets it',
    records: [commit(A), assign(A, 'tests', 'L1'), result('L1', 'failed'), (s) => retryOf(s, A), written(A, 1), assign(A, 'tests', 'L2'), result('L2', 'passed')],
    check: (s, f) => {
      assert.deepEqual(f, ['a:failed', 'a:passed']);
      assert.ok(s.unwritten.has(A));
      const status = overview(s, new RunnerRegistry());
      assert.deepEqual(status.unwritten, [A]);
      assert.deepEqual(status.builds.map((b) => `${b.status}:${b.run}`), ['passed:2'], 'one line per build, its current run');
      encode(status);
      reduce(s, written(A, 2), RULES);
      assert.equal(statusOf(s, A), 'gone');
    },
  },
  {
    name: 'a `written` without a run (an older journal) is of the current run',
    records: [commit(A), assign(A, 'tests', 'L1'), result('L1', 'passed'), written(A)],
    check: (s) => assert.equal(statusOf(s, A), 'gone'),
  },
  {
    name: 'retry of one job keeps the others',
    records: [commit(A, { jobs: [spec('one'), spec('two')] }), assign(A, 'one', 'L1'), result('L1', 'passed'), assign(A, 'two', 'L2'), result('L2', 'failed'), (s) => retryOf(s, A, 'two')],
    check: (s) => {
      assert.deepEqual(s.builds.get(A)!.jobs.map((job) => job.status), ['passed', 'queued']);
      assert.deepEqual(queueOf(s), ['a/two']);
    },
  },
  {
    name: 'cancel of a retried build that is running again',
    records: [commit(A), assign(A, 'tests', 'L1'), result('L1', 'failed'), (s) => retryOf(s, A), assign(A, 'tests', 'L2'), cancel(A)],
    check: (s, f) => {
      assert.deepEqual(f, ['a:failed', 'a:cancelled']);
      assert.equal(s.builds.get(A)!.jobs[0]!.attempts.map((a) => a.status).join(','), 'failed,cancelled');
    },
  },
];

for (const c of retries) {
  test(`retry and cancel: ${c.name}`, () => {
    const { state, finished } = run(c.records);
    c.check(state, finished);
  });
  test(`retry and cancel, replayed from a snapshot taken halfway: ${c.name}`, () => {
    const half = Math.floor(c.records.length / 2);
    const first = run(c.records.slice(0, half));
    const snapshot = DISPATCHER_JOURNAL.readSnapshot(JSON.parse(JSON.stringify(snapshotOf(first.state))));
    const state = stateFrom(snapshot);
    state.recent = first.state.recent;
    const finished = [...first.finished];
    for (const record of c.records.slice(half)) {
      const concrete = typeof record === 'function' ? record(state) : record;
      // Through the journal's own reader, as replay reads it.
      for (const build of reduce(state, DISPATCHER_JOURNAL.readRecord(JSON.parse(JSON.stringify({ seq: 1, ...concrete }))), RULES)) {
        finished.push(`${build.commit.slice(0, 1)}:${build.status}`);
      }
    }
    c.check(state, finished);
  });
}

test('a journal and a snapshot written before builds had subjects replay: pushes in their first run, nothing refused', () => {
  const lines = readFileSync(new URL('./fixtures/old.journal', import.meta.url), 'utf8').split('\n').filter(Boolean);
  const state = emptyState();
  for (const line of lines) reduce(state, DISPATCHER_JOURNAL.readRecord(JSON.parse(line)), RULES);
  const [one, two, three, four, five] = ['1', '2', '3', '4', '5'].map((c) => c.repeat(40));
  assert.equal(state.builds.has(one!), false, 'the written build is gone');
  assert.equal(state.builds.has(two!), false, 'the retried build, written again, is gone');
  const retried = state.recent.find((build) => build.commit === two);
  assert.equal(retried?.status, 'passed', 'the retry (its record holds a build read from an old result file) passed');
  assert.equal(retried?.run, 2, 'a build read from an old file is in its first run; its retry is the second');
  assert.equal(state.builds.get(three!)?.status, 'passed');
  assert.ok(state.unwritten.has(three!), 'the build whose report was blocked still waits to be written');
  assert.equal(state.builds.get(four!)?.status, 'running');
  assert.equal(state.leases.get('-zArh_uOAsSo-5')?.build.commit, four, 'its lease, in the old id format, is kept for its runner to reclaim');
  assert.deepEqual(queueOf(state), ['5/tests']);
  for (const build of state.builds.values()) assert.deepEqual(build.subject, { kind: 'push', base: null, request: null, requests: [] });

  const snapshot = DISPATCHER_JOURNAL.readSnapshot(JSON.parse(readFileSync(new URL('./fixtures/old.snapshot.json', import.meta.url), 'utf8')).state);
  const restored = stateFrom(snapshot);
  assert.deepEqual([...restored.builds.keys()].sort(), [three, four, five].sort());
  assert.deepEqual(queueOf(restored), ['5/tests']);
  assert.equal(restored.leases.get('-zArh_uOAsSo-5')?.build.commit, four);
  assert.equal(restored.builds.get(three!)?.run, 1);
});

test('pause and resume records: a runner paused by name stays paused through a snapshot; resume forgets it', () => {
  const pause = (runner: string, paused: boolean): JournalRecord => ({ op: 'pause', runner, paused, by: 'admin owner', at: AT });
  const { state } = run([pause('r1', true), pause('r2', true), pause('r2', false)].map((record) => DISPATCHER_JOURNAL.readRecord(JSON.parse(JSON.stringify({ seq: 1, ...record })))));
  assert.deepEqual([...state.paused], ['r1']);
  const restored = stateFrom(DISPATCHER_JOURNAL.readSnapshot(JSON.parse(JSON.stringify(snapshotOf(state)))));
  assert.deepEqual([...restored.paused], ['r1']);
  assert.throws(() => DISPATCHER_JOURNAL.readRecord({ seq: 1, ...pause('../x', true) }), /runner/);
});
