// A generator's result and the jobs decided at intake, through the reducer
// and the journal's readers: the printed jobs join the build and its queue,
// a failing or unusable generator ends it as error, jobs skipped by `when`
// never queue, and every such record reads back (and replays) as written.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DISPATCHER_JOURNAL } from '../../src/dispatcher/journal-format.js';
import type { JournalRecord } from '../../src/dispatcher/records.js';
import { reduce } from '../../src/dispatcher/reducer.js';
import { emptyState, snapshotOf, stateFrom, type State } from '../../src/dispatcher/state.js';
import { DEFAULT_JOB } from '../../src/dispatcher/keel-json.js';
import type { JobSpec, RunOutcome } from '../../src/protocol/records.js';

const RULES = { maxAttempts: 3 };
const AT = '2026-01-01T00:00:00.000Z';
const A = 'a'.repeat(40);
const spec = (id: string, fields: Partial<JobSpec> = {}): JobSpec => ({ ...DEFAULT_JOB, id, title: id, ...fields });
const generator = spec('generate', { run: ['./gen'], generator: true });
const outcome = (status: RunOutcome['status']): RunOutcome => ({
  status, exitCode: status === 'passed' ? 0 : 2, signal: null, timedOut: false, startedAt: AT, durationMs: 1, command: ['./gen'],
  message: status === 'passed' ? '' : 'tests exited with code 2', counts: null, infra: false, cancelled: false, failedTests: [], junit: null,
});
const commit = (jobs: JobSpec[], decisions?: Extract<JournalRecord, { op: 'commit' }>['decisions']): JournalRecord => ({
  op: 'commit', commit: A, repo: '/srv/git/app.git', ref: 'refs/heads/main', project: null, supersede: false, jobs, error: null, at: AT,
  ...(decisions ? { decisions } : {}),
});

/** Applies records as the dispatcher does, each read back through the journal's readers first. */
function replay(records: JournalRecord[]): State {
  const state = emptyState();
  for (const record of records) reduce(state, DISPATCHER_JOURNAL.readRecord(JSON.parse(JSON.stringify(record))), RULES);
  return state;
}

test('the generator runs first; its printed jobs, as decided, join the build and the queue after it passes', () => {
  const printed = [spec('unit'), spec('deploy', { secrets: ['T'], when: { branches: ['release/*'] } })];
  const state = replay([
    commit([generator, spec('lint')]),
    { op: 'assign', key: A, job: 'generate', lease: 'g1', runner: 'r1', at: AT },
    {
      op: 'result', lease: 'g1', outcome: outcome('passed'), junitFile: null, at: AT,
      generated: { jobs: printed, error: null, decisions: { skipped: { deploy: 'when.branches: branch main is not one of release/*' }, grants: { deploy: { granted: [], withheld: ['T'], reason: 'x' } } } },
    },
  ]);
  const build = state.builds.get(A)!;
  assert.deepEqual(build.jobs.map((job) => [job.name, job.status]), [['generate', 'passed'], ['lint', 'queued'], ['unit', 'queued'], ['deploy', 'skipped']]);
  assert.deepEqual(state.queue.map(({ job }) => job.name), ['lint', 'unit']);
  assert.equal(build.jobs[2]!.spec.generated, true);
  assert.equal(build.jobs[2]!.log, `${A}.unit.log`);
  assert.deepEqual(build.jobs[3]!.secrets, { granted: [], withheld: ['T'], reason: 'x' });
  // The same state through a snapshot.
  const again = stateFrom(JSON.parse(JSON.stringify(DISPATCHER_JOURNAL.readSnapshot(JSON.parse(JSON.stringify(snapshotOf(state)))))));
  assert.deepEqual(again.builds.get(A)!.jobs, build.jobs);
  assert.deepEqual(again.queue.map(({ job }) => job.name), ['lint', 'unit']);
});

test('a generator that fails, or whose output could not be used, ends the build as error with the reason', () => {
  const failing = replay([commit([generator]), { op: 'assign', key: A, job: 'generate', lease: 'g1', runner: 'r1', at: AT }, { op: 'result', lease: 'g1', outcome: outcome('failed'), junitFile: null, at: AT }]);
  assert.equal(failing.builds.get(A)!.status, 'error');
  assert.equal(failing.builds.get(A)!.message, 'generate: the generator failed: tests exited with code 2');
  const garbage = replay([
    commit([generator]), { op: 'assign', key: A, job: 'generate', lease: 'g1', runner: 'r1', at: AT },
    { op: 'result', lease: 'g1', outcome: outcome('passed'), junitFile: null, at: AT, generated: { jobs: [], error: 'generator output: is not valid JSON' } },
  ]);
  assert.equal(garbage.builds.get(A)!.message, 'generate: generator output: is not valid JSON');
  assert.equal(garbage.queue.length, 0);
});

test('jobs skipped by when never queue; a build whose every job is skipped is finished as skipped; the rest decide the verdict', () => {
  const skipped = { skipped: { a: 'when.subjects: a push build is not one of land' }, grants: {} };
  const all = replay([commit([spec('a')], skipped)]);
  assert.equal(all.builds.get(A)!.status, 'skipped');
  assert.equal(all.builds.get(A)!.message, 'a: when.subjects: a push build is not one of land');
  const some = replay([commit([spec('a'), spec('b')], skipped), { op: 'assign', key: A, job: 'b', lease: 'b1', runner: 'r1', at: AT }, { op: 'result', lease: 'b1', outcome: outcome('passed'), junitFile: null, at: AT }]);
  assert.equal(some.builds.get(A)!.status, 'passed');
});

test('a commit record and a result record of an older Keel, without decisions or generated jobs, read and replay as before', () => {
  const old = { op: 'commit', commit: A, repo: '/srv/git/app.git', ref: 'refs/heads/main', project: null, supersede: false, jobs: [{ id: 'tests', title: 'tests', run: null, env: {}, timeoutMs: null, retries: 0, retryDelayMs: 10000, labels: [], junit: null }], error: null, at: AT };
  const record = DISPATCHER_JOURNAL.readRecord(old);
  assert.deepEqual(record, old);
  const state = emptyState();
  reduce(state, record, RULES);
  assert.deepEqual(state.queue.map(({ job }) => job.name), ['tests']);
  assert.equal(state.builds.get(A)!.jobs[0]!.secrets, undefined);
});

test('a newer commit supersedes a build whose only started-looking jobs were skipped by when; their reasons stay', () => {
  const B = 'b'.repeat(40);
  const skipped = { skipped: { a: 'when.paths: none of the 1 changed file matches web/**' }, grants: {} };
  const older = { ...commit([spec('a'), spec('b')], skipped), supersede: true } as JournalRecord;
  const newer = { ...commit([spec('a'), spec('b')]), commit: B, supersede: true } as JournalRecord;
  const state = replay([older, newer]);
  const build = state.builds.get(A)!;
  assert.equal(build.status, 'skipped');
  assert.deepEqual(build.jobs.map((job) => job.message), ['when.paths: none of the 1 changed file matches web/**', `superseded by ${B}`]);
  assert.deepEqual(state.queue.map(({ build: b, job }) => `${b.commit.slice(0, 1)}:${job.name}`), ['b:a', 'b:b']);
});
