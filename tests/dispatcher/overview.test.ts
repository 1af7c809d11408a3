// The overview lists each build once, whatever happened to it: random runs
// of commits, assignments, results, losses, cancels, retries of active,
// finished-but-unwritten and written builds, files written, and restarts
// from a snapshot, from a fixed seed so a failure repeats.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { overview } from '../../src/dispatcher/queries.js';
import type { JournalRecord } from '../../src/dispatcher/records.js';
import { reduce } from '../../src/dispatcher/reducer.js';
import { RunnerRegistry } from '../../src/dispatcher/runner-registry.js';
import { emptyState, snapshotOf, stateFrom, type State } from '../../src/dispatcher/state.js';
import type { JobSpec, OutcomeStatus } from '../../src/protocol/records.js';

const AT = '2026-01-01T00:00:00.000Z';
const spec = (id: string): JobSpec => ({ id, title: id, run: null, env: {}, timeoutMs: null, retries: 1, retryDelayMs: 0, labels: [], junit: null });

function random(seed: number): (n: number) => number {
  let x = seed;
  return (n) => {
    x = (x * 1103515245 + 12345) % 2147483648;
    return x % n;
  };
}

/** One random step: a record to apply, or a restart (null) from a snapshot. */
function step(state: State, pick: (n: number) => number, lease: () => string): JournalRecord | null | 'restart' {
  const sha = ['a', 'b', 'c'][pick(3)]!.repeat(40);
  const held = [...state.leases.keys()][0];
  const queued = state.queue[0];
  const known = state.builds.get(sha) ?? state.recent.find((build) => build.commit === sha);
  switch (pick(8)) {
    case 0: return { op: 'commit', commit: sha, repo: '/r', ref: 'refs/heads/main', project: null, supersede: pick(2) === 0, jobs: [spec('one'), spec('two')], error: null, at: AT };
    case 1: return queued ? { op: 'assign', key: queued.build.commit, job: queued.job.name, lease: lease(), runner: 'r1', at: AT } : null;
    case 2: {
      const status = (['passed', 'failed', 'error'] as OutcomeStatus[])[pick(3)]!;
      const outcome = { status, exitCode: 0, signal: null, timedOut: false, startedAt: AT, durationMs: 1, command: [], message: '', counts: null, infra: pick(2) === 0, cancelled: false, failedTests: [], junit: null };
      return held ? { op: 'result', lease: held, outcome, junitFile: null, at: AT } : null;
    }
    case 3: return held ? { op: 'lost', lease: held, reason: 'gone', at: AT } : null;
    case 4: return { op: 'cancel', key: sha, by: 'admin owner', at: AT };
    case 5: return known ? { op: 'retry', build: structuredClone(known), job: null, by: 'admin owner', at: AT } : null;
    case 6: return state.builds.has(sha) ? { op: 'written', key: sha, run: state.builds.get(sha)!.run } : null;
    default: return 'restart';
  }
}

test('the overview never lists a build twice', () => {
  const pick = random(16);
  let leases = 0;
  for (let round = 0; round < 400; round += 1) {
    let state = emptyState();
    for (let i = 0; i < 40; i += 1) {
      const next = step(state, pick, () => `L${(leases += 1)}`);
      if (next === 'restart') state = stateFrom(JSON.parse(JSON.stringify(snapshotOf(state))));
      else if (next !== null) reduce(state, next, { maxAttempts: 3 });
      const commits = overview(state, new RunnerRegistry()).builds.map((build) => build.commit.slice(0, 1));
      assert.equal(new Set(commits).size, commits.length, `round ${round}, step ${i}: ${commits.join(',')}`);
    }
  }
});
