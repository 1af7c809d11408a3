// The outbox as the reducer fills it (pure, table-driven): which records
// make which forge statuses (a newer state of a job replacing one not yet
// posted), the `finished` event of every settled build, the hook run of
// every written one with its branch's previous verdict; `delivered` taking
// them out; the limits; and all of it surviving a snapshot read back.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DISPATCHER_JOURNAL } from '../../src/dispatcher/journal-format.js';
import type { OutputRules } from '../../src/dispatcher/outbox.js';
import type { JournalRecord } from '../../src/dispatcher/records.js';
import { reduce } from '../../src/dispatcher/reducer.js';
import { emptyState, snapshotOf, stateFrom, type State } from '../../src/dispatcher/state.js';
import { LIMITS } from '../../src/protocol/limits.js';
import type { JobSpec, RunOutcome } from '../../src/protocol/records.js';

const AT = '2026-01-01T00:00:00.000Z';
const A = 'a'.repeat(40);
const B = 'b'.repeat(40);
const ALL: OutputRules = { statuses: true, hooks: true };

const spec = (id: string, retries = 0): JobSpec => ({ id, title: id, run: null, env: {}, timeoutMs: null, retries, retryDelayMs: 0, labels: [], junit: null });
const commit = (sha: string, options: { jobs?: JobSpec[]; error?: string; supersede?: boolean } = {}): JournalRecord => ({
  op: 'commit', commit: sha, repo: '/srv/git/team/app.git', ref: 'refs/heads/main', project: null,
  supersede: options.supersede ?? false, jobs: options.jobs ?? [spec('tests')], error: options.error ?? null, at: AT,
});
const assign = (sha: string, job: string, lease: string): JournalRecord => ({ op: 'assign', key: sha, job, lease, runner: 'r1', at: AT });
const outcome = (status: RunOutcome['status']): RunOutcome => ({
  status, exitCode: status === 'passed' ? 0 : 1, signal: null, timedOut: false, startedAt: AT, durationMs: 2000, command: [],
  message: status === 'passed' ? '' : 'exit code 1', counts: null, infra: false, cancelled: false, failedTests: [], junit: null,
});
const result = (lease: string, status: RunOutcome['status']): JournalRecord => ({ op: 'result', lease, outcome: outcome(status), junitFile: null, at: AT });
const written = (sha: string): JournalRecord => ({ op: 'written', key: sha });

function run(records: Array<JournalRecord | ((state: State) => JournalRecord)>, outputs: OutputRules = ALL): State {
  const state = emptyState();
  for (const record of records) reduce(state, typeof record === 'function' ? record(state) : record, { maxAttempts: 2, outputs });
  return state;
}

const statuses = (state: State) => [...state.outbox.statuses.values()].map((s) => `${s.commit[0]}/${s.job ?? '-'}:${s.state}:${s.description}`);

interface Case {
  name: string;
  records: Array<JournalRecord | ((state: State) => JournalRecord)>;
  statuses: string[];
}

const cases: Case[] = [
  { name: 'a job leased: pending, saying where', records: [commit(A), assign(A, 'tests', 'l1')], statuses: ['a/tests:pending:running on r1'] },
  { name: 'its verdict replaces the pending one not yet posted', records: [commit(A), assign(A, 'tests', 'l1'), result('l1', 'passed')], statuses: ['a/tests:success:passed, 2 s'] },
  { name: 'a failure', records: [commit(A), assign(A, 'tests', 'l1'), result('l1', 'failed')], statuses: ['a/tests:failure:failed, 2 s: exit code 1'] },
  {
    name: 'a failure with a retry left is still pending',
    records: [commit(A, { jobs: [spec('tests', 1)] }), assign(A, 'tests', 'l1'), result('l1', 'failed')],
    statuses: ['a/tests:pending:failed; retry 1 of 1'],
  },
  {
    name: 'the runner lost too often: error',
    records: [commit(A), assign(A, 'tests', 'l1'), { op: 'lost', lease: 'l1', reason: 'gone', at: AT }, assign(A, 'tests', 'l2'), { op: 'lost', lease: 'l2', reason: 'gone', at: AT }],
    statuses: ['a/tests:error:error: runner lost or failing 2 times; last: gone'],
  },
  {
    name: 'cancelled while running: error; a job cancelled before it started posts nothing',
    records: [commit(A, { jobs: [spec('one'), spec('two')] }), assign(A, 'one', 'l1'), { op: 'cancel', key: A, by: 'alice', at: AT }],
    statuses: ['a/one:error:cancelled: cancelled by alice'],
  },
  { name: 'skipped by a newer commit: nothing', records: [commit(A, { supersede: true }), commit(B, { supersede: true })], statuses: [] },
  {
    name: 'skipped by its `when`: success, saying why (a required check is not left pending)',
    records: [{ ...(commit(A, { jobs: [spec('tests'), spec('deploy')] }) as Extract<JournalRecord, { op: 'commit' }>), decisions: { skipped: { deploy: 'when.branches: branch main is not one of release/*' }, grants: {} } }],
    statuses: ['a/deploy:success:skipped: when.branches: branch main is not one of release/*'],
  },
  {
    name: 'a generator\'s verdict, then its printed jobs skipped by their `when`',
    records: [
      commit(A, { jobs: [{ ...spec('generate'), generator: true }] }), assign(A, 'generate', 'g1'),
      {
        ...(result('g1', 'passed') as Extract<JournalRecord, { op: 'result' }>),
        generated: { jobs: [spec('unit'), spec('docs')], error: null, decisions: { skipped: { docs: 'when.paths: no changed file matches docs/**' }, grants: {} } },
      },
    ],
    statuses: ['a/generate:success:passed, 2 s', 'a/docs:success:skipped: when.paths: no changed file matches docs/**'],
  },
  { name: 'a keel.json that cannot be used: one status for the build', records: [commit(A, { jobs: [], error: 'keel.json: bad' })], statuses: ['a/-:error:keel.json: bad'] },
  {
    name: 'keel retry: pending again',
    records: [commit(A), assign(A, 'tests', 'l1'), result('l1', 'failed'), (s) => ({ op: 'retry', build: structuredClone(s.builds.get(A)!), job: null, by: 'alice', at: AT })],
    statuses: ['a/tests:pending:queued (run 2)'],
  },
];

for (const c of cases) {
  test(`statuses: ${c.name}`, () => {
    assert.deepEqual(statuses(run(c.records)), c.statuses);
    assert.deepEqual(statuses(run(c.records, { statuses: false, hooks: false })), [], 'none without --forge-status');
  });
}

test('every settled build makes a `finished` event, outputs or not; `delivered` takes items out', () => {
  const state = run([commit(A), assign(A, 'tests', 'l1'), result('l1', 'passed'), commit(B, { jobs: [], error: 'bad' })], { statuses: false, hooks: false });
  const events = [...state.outbox.events.values()];
  assert.deepEqual(events.map((e) => `${e.build.commit[0]}:${e.build.status}:${e.jobs.map((j) => j.status).join(',')}`), ['a:passed:passed', 'b:error:']);
  reduce(state, { op: 'delivered', ids: [events[0]!.id, 999] }, { maxAttempts: 2 });
  assert.deepEqual([...state.outbox.events.values()].map((e) => e.build.commit[0]), ['b']);
});

test('a written build makes a hook run with its branch\'s previous verdict; a cancelled build is no verdict', () => {
  const state = run([
    commit(A), assign(A, 'tests', 'l1'), result('l1', 'failed'), written(A),
    commit(B), { op: 'cancel', key: B, by: 'alice', at: AT }, written(B),
  ]);
  const hooks = [...state.outbox.hooks.values()].map((h) => `${h.build.commit[0]}:${h.build.status}:${h.previous}`);
  assert.deepEqual(hooks, ['a:failed:null', 'b:cancelled:failed']);
  const C = 'c'.repeat(40);
  reduce(state, commit(C), { maxAttempts: 2, outputs: ALL });
  reduce(state, assign(C, 'tests', 'l3'), { maxAttempts: 2, outputs: ALL });
  reduce(state, result('l3', 'passed'), { maxAttempts: 2, outputs: ALL });
  reduce(state, written(C), { maxAttempts: 2, outputs: ALL });
  assert.equal([...state.outbox.hooks.values()].at(-1)!.previous, 'failed', 'fixed: the last verdict was a failure');
  assert.equal(state.outbox.verdicts.get(' refs/heads/main'), 'passed');
});

test('past its limit the oldest item of a kind goes, and is counted', () => {
  const state = emptyState();
  for (let i = 0; i <= LIMITS.outboxEvents; i++) {
    reduce(state, commit(i.toString(16).padStart(40, '0'), { jobs: [], error: 'bad' }), { maxAttempts: 2 });
  }
  assert.equal(state.outbox.events.size, LIMITS.outboxEvents);
  assert.equal(state.outbox.dropped, 1);
  assert.equal([...state.outbox.events.values()][0]!.build.commit, '1'.padStart(40, '0'));
});

test('the outbox survives a snapshot read back as the journal reads it, a newer status still replacing a waiting one', () => {
  const state = run([commit(A), assign(A, 'tests', 'l1'), result('l1', 'passed'), written(A), commit(B), assign(B, 'tests', 'l2')]);
  const read = DISPATCHER_JOURNAL.readSnapshot(JSON.parse(JSON.stringify(snapshotOf(state))));
  const again = stateFrom(read);
  assert.deepEqual(statuses(again), statuses(state));
  assert.deepEqual([...again.outbox.events.values()], [...state.outbox.events.values()]);
  assert.deepEqual([...again.outbox.hooks.values()], [...state.outbox.hooks.values()]);
  assert.deepEqual([...again.outbox.verdicts], [...state.outbox.verdicts]);
  assert.equal(again.outbox.next, state.outbox.next);
  reduce(again, result('l2', 'failed'), { maxAttempts: 2, outputs: ALL });
  assert.deepEqual(statuses(again).filter((s) => s.startsWith('b')), ['b/tests:failure:failed, 2 s: exit code 1']);
});

test('a `delivered` record is checked at replay like every other', () => {
  assert.deepEqual(DISPATCHER_JOURNAL.readRecord({ op: 'delivered', ids: [1, 2] }), { op: 'delivered', ids: [1, 2] });
  for (const ids of [[0], [1.5], ['1'], [1e400], null]) {
    assert.throws(() => DISPATCHER_JOURNAL.readRecord({ op: 'delivered', ids }), /ids/, JSON.stringify(ids));
  }
});

test('ids do not depend on which outputs are on, so a replayed `delivered` names the same items', () => {
  const records = [commit(A), assign(A, 'tests', 'l1'), result('l1', 'passed'), written(A)];
  const on = run(records);
  const off = run(records, { statuses: false, hooks: false });
  assert.equal(on.outbox.next, off.outbox.next);
  assert.deepEqual([...on.outbox.events.keys()], [...off.outbox.events.keys()]);
});
