// A build is one commit x its jobs. These functions create and settle the
// records; the scheduler decides when.

import type { AttemptRecord, BuildRecord, BuildStatus, JobRecord, RunOutcome } from '../protocol/records.js';

/** The job every repository gets: run what its tests/ folder holds. */
export const DEFAULT_JOB = 'tests';

export function newBuild(commit: string, repo: string, ref: string, now: Date): BuildRecord {
  return {
    commit, repo, ref,
    status: 'queued',
    message: '',
    runner: null,
    attempts: 0,
    queuedAt: now.toISOString(),
    startedAt: null,
    endedAt: null,
    durationMs: null,
    counts: null,
    jobs: [newJob(DEFAULT_JOB, `${commit}.log`)],
  };
}

function newJob(name: string, log: string): JobRecord {
  return {
    name, status: 'queued', attempts: [], runner: null,
    startedAt: null, endedAt: null, durationMs: null,
    exitCode: null, signal: null, timedOut: false, counts: null, command: [], message: '', log,
  };
}

export function startAttempt(job: JobRecord, lease: string, runner: string, now: Date): AttemptRecord {
  const attempt: AttemptRecord = {
    attempt: job.attempts.length + 1, lease, runner, status: 'running',
    startedAt: now.toISOString(), endedAt: null, durationMs: null,
    exitCode: null, signal: null, timedOut: false, message: '',
  };
  job.attempts.push(attempt);
  job.status = 'running';
  job.runner = runner;
  job.startedAt ??= attempt.startedAt;
  return attempt;
}

function endAttempt(attempt: AttemptRecord, now: Date): void {
  attempt.endedAt = now.toISOString();
  attempt.durationMs = now.getTime() - Date.parse(attempt.startedAt);
}

/** Records the runner's outcome; the job is finished. */
export function finishAttempt(job: JobRecord, attempt: AttemptRecord, outcome: RunOutcome, now: Date): void {
  endAttempt(attempt, now);
  Object.assign(attempt, {
    status: outcome.status, exitCode: outcome.exitCode, signal: outcome.signal,
    timedOut: outcome.timedOut, message: outcome.message,
  });
  Object.assign(job, {
    status: outcome.status, exitCode: outcome.exitCode, signal: outcome.signal, timedOut: outcome.timedOut,
    counts: outcome.counts, command: outcome.command, message: outcome.message,
    endedAt: attempt.endedAt, durationMs: outcome.durationMs,
  });
}

/** The runner was lost; the job goes back to the queue unless `giveUp`. */
export function loseAttempt(job: JobRecord, attempt: AttemptRecord, reason: string, giveUp: boolean, now: Date): void {
  endAttempt(attempt, now);
  attempt.status = 'lost';
  attempt.message = reason;
  if (giveUp) {
    job.status = 'error';
    job.message = `runner lost ${job.attempts.length} times; last: ${reason}`;
    job.endedAt = attempt.endedAt;
  } else {
    job.status = 'queued';
  }
}

export function isFinished(status: BuildStatus): boolean {
  return status !== 'queued' && status !== 'running';
}

/**
 * Settles the build from its jobs once all are finished. `error` wins over
 * `failed`: a build that could not run everything has no full verdict.
 */
export function settleBuild(build: BuildRecord, now: Date): boolean {
  if (!build.jobs.every((job) => isFinished(job.status))) return false;
  const statuses = build.jobs.map((job) => job.status);
  build.status = statuses.includes('error') ? 'error'
    : statuses.includes('cancelled') ? 'cancelled'
      : statuses.includes('failed') ? 'failed' : 'passed';
  const notPassed = build.jobs.find((job) => job.status === build.status && job.message);
  build.message = build.status === 'passed' ? '' : notPassed?.message ?? '';
  build.endedAt = now.toISOString();
  build.durationMs = build.startedAt ? now.getTime() - Date.parse(build.startedAt) : null;
  build.counts = sumCounts(build.jobs);
  return true;
}

function sumCounts(jobs: JobRecord[]): BuildRecord['counts'] {
  const known = jobs.filter((job) => job.counts !== null);
  if (known.length === 0) return null;
  return known.reduce(
    (sum, job) => ({
      tests: sum.tests + job.counts!.tests, passed: sum.passed + job.counts!.passed,
      failed: sum.failed + job.counts!.failed, skipped: sum.skipped + job.counts!.skipped,
    }),
    { tests: 0, passed: 0, failed: 0, skipped: 0 },
  );
}

/** Keeps the build-level summary (runner, attempts, start) in step with its jobs. */
export function summarise(build: BuildRecord): void {
  const attempts = build.jobs.flatMap((job) => job.attempts);
  build.attempts = attempts.length;
  build.runner = attempts.at(-1)?.runner ?? null;
  build.startedAt = attempts[0]?.startedAt ?? null;
  if (!isFinished(build.status)) {
    build.status = build.jobs.some((job) => job.status === 'running') ? 'running' : 'queued';
  }
}
