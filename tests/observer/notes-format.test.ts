// What a note says (pure): Keel's block of a build, the block replacing its
// own owner's and keeping the rest, git-appraise's JSON line, and the one-
// line verdict it is made of.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatDuration, jobLine, verdictLine } from '../../src/common/verdict.js';
import { appraiseLine, keelBlock, mergeAppraiseNote, mergeKeelNote, mergeNote, type NoteInput } from '../../src/observer/notes-format.js';
import type { BuildSummary, JobSummary } from '../../src/protocol/records.js';

const SHA = 'c0ffee'.padEnd(40, '0');

function summary(patch: Partial<BuildSummary> = {}): BuildSummary {
  return {
    commit: SHA, project: null, ref: 'refs/heads/main', subject: { kind: 'push', base: null, request: null, requests: [] }, run: 1,
    status: 'passed', flaky: false, note: '', queuedAt: '2026-01-02T03:04:00.000Z', startedAt: '2026-01-02T03:04:05.000Z',
    endedAt: '2026-01-02T03:04:43.000Z', durationMs: 38_000, counts: { tests: 412, passed: 412, failed: 0, skipped: 0 },
    jobs: { passed: 3 }, runners: ['r1'], unwritten: false, ...patch,
  };
}

const job = (name: string, patch: Partial<JobSummary> = {}): JobSummary => ({
  name, title: name, status: 'passed', flaky: false, counts: null, durationMs: 5_000, note: '', ...patch,
});

const THREE: JobSummary[] = [
  job('unit.NODE-18', { title: 'unit (NODE=18)', counts: { tests: 200, passed: 200, failed: 0, skipped: 0 }, durationMs: 20_000 }),
  job('unit.NODE-20', { title: 'unit (NODE=20)', counts: { tests: 212, passed: 212, failed: 0, skipped: 0 }, durationMs: 21_400 }),
  job('lint'),
];

test('a passed build: the verdict, a line per job, the page', () => {
  assert.deepEqual(keelBlock({ build: summary(), jobs: THREE }, `https://ci.example/builds/${SHA}`), [
    'keel: passed 3/3 jobs, 412 tests, 38 s',
    '  unit (NODE=18): passed, 200 tests, 20 s',
    '  unit (NODE=20): passed, 212 tests, 21 s',
    '  lint: passed, 5 s',
    `  https://ci.example/builds/${SHA}`,
  ]);
});

test('a failed build says which job failed and why, on one line whatever the message holds', () => {
  const build = summary({ status: 'failed', jobs: { passed: 1, failed: 1 }, counts: { tests: 30, passed: 28, failed: 2, skipped: 0 }, durationMs: 4_200 });
  const jobs = [job('lint'), job('unit', { status: 'failed', counts: { tests: 30, passed: 28, failed: 2, skipped: 0 }, note: 'exit code 1\nkeel: passed forged' })];
  assert.deepEqual(keelBlock({ build, jobs }, null), [
    'keel: failed 1/2 jobs, 30 tests, 2 failed, 4.2 s',
    '  lint: passed, 5 s',
    '  unit: failed, 2 of 30 tests failed, 5 s: exit code 1\\nkeel: passed forged',
  ]);
});

test('the verdict line: no jobs (a keel.json that could not be used), flaky, later runs', () => {
  assert.equal(verdictLine(summary({ status: 'error', jobs: {}, counts: null, durationMs: 0, note: 'keel.json: jobs must be an object' })),
    'error 0/0 jobs, 0 s: keel.json: jobs must be an object');
  assert.equal(verdictLine(summary({ flaky: true, run: 3, counts: null, jobs: { passed: 1 }, durationMs: null })), 'passed 1/1 job, flaky, run 3');
  assert.equal(jobLine(job('t', { status: 'cancelled', note: 'cancelled by alice', durationMs: null })), 't: cancelled: cancelled by alice');
});

test('durations read as people say them', () => {
  const cases: Array<[number, string]> = [[0, '0 s'], [420, '0.4 s'], [9_960, '10 s'], [38_000, '38 s'], [252_000, '4 min 12 s'], [7_500_000, '2 h 5 min'], [-5, '0 s']];
  for (const [ms, text] of cases) assert.equal(formatDuration(ms), text, `${ms} ms`);
});

test('a block replaces its own owner\'s and keeps every other part of the note', () => {
  const push = keelBlock({ build: summary({ status: 'failed', jobs: { failed: 1 } }), jobs: [] }, null);
  const land = keelBlock({ build: summary({ subject: { kind: 'land', base: SHA, request: 'B-3', requests: ['L-7'] } }), jobs: [job('t')] }, null);
  const rerun = keelBlock({ build: summary({ run: 2, jobs: { passed: 1 } }), jobs: [job('t')] }, null);
  const first = mergeKeelNote(null, push);
  assert.equal(first, `${push.join('\n')}\n`);
  const both = mergeKeelNote(first, land);
  assert.equal(both, `${push.join('\n')}\n\n${land.join('\n')}\n`);
  assert.equal(mergeKeelNote(both, rerun), `${rerun.join('\n')}\n\n${land.join('\n')}\n`, 'the push block replaced in place');
  const foreign = 'Reviewed-by: someone\n';
  assert.equal(mergeKeelNote(foreign, push), `Reviewed-by: someone\n\n${push.join('\n')}\n`);
});

test('git-appraise: one JSON line per agent, the timestamp in ten digits of seconds, other tools\' lines kept', () => {
  const input: NoteInput = { build: summary(), jobs: THREE };
  assert.deepEqual(JSON.parse(appraiseLine(input, 'https://ci.example/x')), {
    timestamp: String(Date.parse('2026-01-02T03:04:43.000Z') / 1000), agent: 'keel', v: 0, url: 'https://ci.example/x', status: 'success',
  });
  const failed = JSON.parse(appraiseLine({ build: summary({ status: 'error' }), jobs: [] }, null));
  assert.equal(failed.status, 'failure');
  assert.equal(failed.url, undefined);
  assert.equal(JSON.parse(appraiseLine({ build: summary({ status: 'cancelled' }), jobs: [] }, null)).status, undefined, 'no verdict: no status');

  const other = '{"timestamp":"1700000000","agent":"jenkins","status":"failure","v":0}';
  const existing = `${other}\nnot json\n${appraiseLine({ build: summary({ status: 'failed' }), jobs: [] }, null)}\n`;
  const merged = mergeAppraiseNote(existing, appraiseLine(input, null)).trimEnd().split('\n');
  assert.deepEqual(merged.slice(0, 2), [other, 'not json']);
  assert.equal(merged.length, 3);
  assert.equal(JSON.parse(merged[2]!).status, 'success');
});

test('mergeNote links the build\'s page, with its project', () => {
  const text = mergeNote('keel', null, { build: summary({ project: 'lib' }), jobs: [] }, 'https://ci.example');
  assert.match(text, new RegExp(`\\n  https://ci\\.example/builds/${SHA}\\?project=lib\\n$`));
});
