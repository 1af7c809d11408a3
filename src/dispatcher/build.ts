// A build is one commit x its jobs, for one subject. These functions create
// and settle the records; the reducer decides when. They change only their
// arguments and read no clock, so replaying the journal reaches the same state.

import type { AttemptRecord, BuildRecord, BuildStatus, JobRecord, JobSpec, RunOutcome, Subject } from '../protocol/records.js';
import type { JobDecisions } from './job-decisions.js';
import { retryDelayMs } from './keel-json.js';

export interface NewBuild {
  commit: string;
  repo: string;
  ref: string;
  project: string | null;
  subject: Subject;
  specs: JobSpec[];
  /** keel.json could not be used: the build ends as error at once. */
  error: string | null;
  /** Queued behind ordinary builds. */
  background?: boolean;
  /** Jobs skipped by their `when`, and the secrets each is given. */
  decisions?: JobDecisions;
}

/** The log file of a job: <sha>.log for a build of one job, else <sha>.<job>.log. */
function logName(commit: string, spec: JobSpec, jobs: number): string {
  return jobs === 1 ? `${commit}.log` : `${commit}.${spec.id}.log`;
}

export function newBuild(input: NewBuild, now: Date): BuildRecord {
  const build: BuildRecord = {
    commit: input.commit, repo: input.repo, ref: input.ref, project: input.project,
    subject: { ...input.subject }, run: 1, background: input.background ?? false, status: 'queued', flaky: false, message: '', runner: null, attempts: 0,
    queuedAt: now.toISOString(), startedAt: null, endedAt: null, durationMs: null, counts: null, jobs: [],
  };
  addJobs(build, input.specs, input.decisions, now, input.specs.length);
  if (input.error !== null) {
    build.status = 'error';
    build.message = input.error;
    build.endedAt = build.queuedAt;
    build.durationMs = 0;
  }
  return build;
}

function newJob(spec: JobSpec, log: string): JobRecord {
  return {
    name: spec.id, spec, status: 'queued', flaky: false, attempts: [], runner: null,
    startedAt: null, endedAt: null, durationMs: null, exitCode: null, signal: null, timedOut: false,
    counts: null, command: [], message: '', log, junit: null, failedTests: [], notBefore: null,
  };
}

/**
 * Adds jobs to a build with what was decided about them: skipped (their
 * `when` does not hold) or queued, and their secrets. `count` is how many
 * jobs name their logs (one job: <sha>.log). Returns the jobs added.
 */
export function addJobs(build: BuildRecord, specs: readonly JobSpec[], decisions: JobDecisions | undefined, now: Date, count = 2): JobRecord[] {
  const added = specs.map((spec) => {
    const job = newJob(spec, logName(build.commit, spec, count));
    const grant = decisions?.grants[spec.id];
    if (grant !== undefined) job.secrets = grant;
    const skipped = decisions?.skipped[spec.id];
    if (skipped !== undefined) finishJob(job, 'skipped', skipped, now.toISOString());
    return job;
  });
  build.jobs.push(...added);
  return added;
}

export function startAttempt(job: JobRecord, lease: string, runner: string, now: Date, run: number): AttemptRecord {
  const attempt: AttemptRecord = {
    attempt: job.attempts.length + 1, run, lease, runner, status: 'running',
    startedAt: now.toISOString(), endedAt: null, durationMs: null,
    exitCode: null, signal: null, timedOut: false, infra: false, message: '',
  };
  job.attempts.push(attempt);
  job.status = 'running';
  job.runner = runner;
  job.message = '';
  job.notBefore = null;
  job.startedAt ??= attempt.startedAt;
  return attempt;
}

function endAttempt(attempt: AttemptRecord, now: Date): void {
  attempt.endedAt = now.toISOString();
  attempt.durationMs = now.getTime() - Date.parse(attempt.startedAt);
}

/**
 * The attempts of the run `attempt` belongs to: a keel retry starts the
 * counts of retries and losses again. Flakiness is not per run: a job that
 * failed its tests and passed when run again (a retry within the run, or a
 * run again, as the gate does to tell a flaky failure from a real one) is
 * flaky.
 */
function sameRun(job: JobRecord, attempt: AttemptRecord): AttemptRecord[] {
  return job.attempts.filter((a) => (a.run ?? 1) === (attempt.run ?? 1));
}

/** Attempts of this run that failed for the runner's reasons (lost, fetch or checkout failed). */
export function infraFailures(job: JobRecord, attempt: AttemptRecord): number {
  return sameRun(job, attempt).filter((a) => a.status === 'lost' || a.infra).length;
}

function finishJob(job: JobRecord, status: BuildStatus, message: string, endedAt: string | null): void {
  job.status = status;
  job.message = message;
  job.endedAt = endedAt;
  job.notBefore = null;
}

/**
 * Records the runner's outcome. A test failure with retries left goes back to
 * the queue after its delay; an infrastructure failure is retried at once up
 * to `maxInfra` times and never makes a job flaky.
 */
export function finishAttempt(job: JobRecord, attempt: AttemptRecord, outcome: RunOutcome, maxInfra: number, now: Date): void {
  endAttempt(attempt, now);
  Object.assign(attempt, {
    status: outcome.status, exitCode: outcome.exitCode, signal: outcome.signal,
    timedOut: outcome.timedOut, infra: outcome.infra, message: outcome.message,
  });
  Object.assign(job, {
    exitCode: outcome.exitCode, signal: outcome.signal, timedOut: outcome.timedOut,
    counts: outcome.counts, command: outcome.command, failedTests: outcome.failedTests,
    durationMs: outcome.durationMs,
  });
  const testFailures = sameRun(job, attempt).filter((a) => a.status === 'failed').length;
  if (outcome.status === 'passed') {
    job.flaky = job.attempts.some((a) => a.status === 'failed');
    finishJob(job, 'passed', '', attempt.endedAt);
  } else if (outcome.status === 'failed' && testFailures <= job.spec.retries) {
    job.status = 'queued';
    job.message = `failed; retry ${testFailures} of ${job.spec.retries}`;
    job.notBefore = new Date(now.getTime() + retryDelayMs(job.spec, testFailures)).toISOString();
  } else if (outcome.infra && infraFailures(job, attempt) < maxInfra) {
    job.status = 'queued';
    job.message = `${outcome.message}; trying again`;
  } else {
    finishJob(job, outcome.status, outcome.message, attempt.endedAt);
  }
}

/** The runner was lost; the job goes back to the queue unless it has been lost too often. */
export function loseAttempt(job: JobRecord, attempt: AttemptRecord, reason: string, maxInfra: number, now: Date): boolean {
  endAttempt(attempt, now);
  attempt.status = 'lost';
  attempt.message = reason;
  const giveUp = infraFailures(job, attempt) >= maxInfra;
  if (giveUp) finishJob(job, 'error', `runner lost or failing ${infraFailures(job, attempt)} times; last: ${reason}`, attempt.endedAt);
  else job.status = 'queued';
  return giveUp;
}

/** Stops a queued or running job for good. */
export function cancelJob(job: JobRecord, status: 'cancelled' | 'skipped', message: string, now: Date): void {
  const attempt = job.attempts.at(-1);
  if (attempt?.status === 'running') {
    endAttempt(attempt, now);
    attempt.status = 'cancelled';
  }
  finishJob(job, status, message, now.toISOString());
}

export function isFinished(status: BuildStatus): boolean {
  return status !== 'queued' && status !== 'running';
}

const SEVERITY: BuildStatus[] = ['error', 'cancelled', 'failed', 'skipped', 'passed'];

/**
 * Settles the build from its jobs once all are finished. `error` wins over
 * `failed`: a build that could not run everything has no full verdict.
 */
export function settleBuild(build: BuildRecord, now: Date): boolean {
  if (isFinished(build.status)) return true;
  if (!build.jobs.every((job) => isFinished(job.status))) return false;
  // Skipped jobs (their `when` did not hold) count only when every job is.
  const judged = build.jobs.some((job) => job.status !== 'skipped') ? build.jobs.filter((job) => job.status !== 'skipped') : build.jobs;
  const statuses = new Set(judged.map((job) => job.status));
  build.status = SEVERITY.find((status) => statuses.has(status)) ?? 'passed';
  const reason = build.jobs.find((job) => job.status === build.status && job.message);
  build.message = build.status === 'passed' ? '' : reason ? `${reason.name}: ${reason.message}` : '';
  build.flaky = build.jobs.some((job) => job.flaky);
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

/**
 * Keeps the build-level summary (runner, attempts, start) in step with its
 * jobs. The start is this run's: a retried build's time is its own, not the
 * time since the first run began.
 */
export function summarise(build: BuildRecord): void {
  const attempts = build.jobs.flatMap((job) => job.attempts).sort((a, b) => a.startedAt.localeCompare(b.startedAt));
  build.attempts = attempts.length;
  build.runner = attempts.at(-1)?.runner ?? null;
  build.startedAt = attempts.find((attempt) => (attempt.run ?? 1) === build.run)?.startedAt ?? null;
  if (!isFinished(build.status)) {
    build.status = build.jobs.some((job) => job.status === 'running') ? 'running' : 'queued';
  }
}

/** Puts a finished build back in the queue (keel retry), keeping its attempts on record; `jobIds` null reopens every job. */
export function reopenBuild(build: BuildRecord, jobIds: readonly string[] | null): JobRecord[] {
  const jobs = build.jobs.filter((job) => jobIds === null || jobIds.includes(job.name));
  for (const job of jobs) {
    job.status = 'queued';
    job.message = '';
    job.flaky = false;
    job.startedAt = null;
    job.endedAt = null;
    job.notBefore = null;
  }
  Object.assign(build, { status: 'queued', message: '', endedAt: null, durationMs: null, run: build.run + 1 });
  return jobs;
}
