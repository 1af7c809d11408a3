// What `keel status` is told: an overview of summaries (runners, the queue,
// active and recent builds) bounded in size whatever the builds hold, and a
// single build's whole record, trimmed to fit one line when it must. Lease
// ids are never shown: a lease is a capability of the runner that holds it.

import { LIMITS } from '../protocol/limits.js';
import type { Status } from '../protocol/messages.js';
import type { BuildRecord, BuildStatus, BuildSummary, JobRecord, RunnerSummary } from '../protocol/records.js';
import { isFinished } from './build.js';
import { waitReason, type RunnerView, type WaitContext } from './placement.js';
import { keyOf } from './records.js';
import type { RunnerRegistry } from './runner-registry.js';
import type { State } from './state.js';

/** Room in a `status` line for everything but the builds and runners. */
export const LINE_BUDGET = LIMITS.lineBytes - 64 * 1024;
const SHOWN_RUNNERS_OF_BUILD = 4;
const SHOWN_COMMITS_OF_RUNNER = 4;

export function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** A build in a few bounded fields. */
export function summarise(build: BuildRecord, unwritten: boolean, note = build.message): BuildSummary {
  const jobs: Partial<Record<BuildStatus, number>> = {};
  for (const job of build.jobs) jobs[job.status] = (jobs[job.status] ?? 0) + 1;
  const runners = [...new Set(build.jobs.flatMap((job) => job.attempts.map((attempt) => attempt.runner)))];
  return {
    commit: build.commit, project: build.project, ref: build.ref, subject: build.subject, run: build.run,
    status: build.status, flaky: build.flaky, note: clip(note, LIMITS.printable),
    queuedAt: build.queuedAt, startedAt: build.startedAt, endedAt: build.endedAt, durationMs: build.durationMs,
    counts: build.counts, jobs, runners: runners.slice(0, SHOWN_RUNNERS_OF_BUILD), unwritten,
  };
}

/** What a query needs of placement: the runners as it sees them, what holds every job back, why a runner gets none. */
export interface Placing {
  runnerViews(now: number): RunnerView[];
  readonly waitContext: WaitContext;
  runnerHealth(runner: string, now: number): string | null;
}

/** Placement as the bare registry sees it: nobody paused, nobody unhealthy, nothing held back. */
export function registryPlacing(runners: RunnerRegistry): Placing {
  return { runnerViews: () => runners.views(), waitContext: { unwritten: null }, runnerHealth: () => null };
}

/** Why a job of the queue waits; '' when it is not in the queue. */
function jobWait(job: JobRecord, state: State, views: RunnerView[], placing: Placing, now: number): string {
  const index = state.queue.findIndex((queued) => queued.job === job);
  return index === -1 ? '' : waitReason(job, views, index + 1, now, placing.waitContext);
}

/** Why the first waiting job of an unfinished build waits; a finished build's message. */
function noteOf(build: BuildRecord, state: State, views: RunnerView[], placing: Placing, now: number): string {
  if (isFinished(build.status)) return build.message;
  const waiting = build.jobs.find((job) => job.status === 'queued');
  return waiting ? jobWait(waiting, state, views, placing, now) : build.message;
}

/** `build` with each queued job's message saying why it waits (for keel status SHA); the state is not changed. */
export function withWaitReasons(build: BuildRecord, state: State, placing: Placing, now = Date.now()): BuildRecord {
  if (isFinished(build.status)) return build;
  const views = placing.runnerViews(now);
  return { ...build, jobs: build.jobs.map((job) => (job.status === 'queued' ? { ...job, message: jobWait(job, state, views, placing, now) || job.message } : job)) };
}

/** Takes items while their JSON fits in `budget` bytes; the rest are counted. */
export function within<T>(items: T[], budget: number, max: number): { shown: T[]; omitted: number } {
  const shown: T[] = [];
  let used = 0;
  for (const item of items) {
    const size = Buffer.byteLength(JSON.stringify(item)) + 1;
    if (shown.length === max || used + size > budget) break;
    shown.push(item);
    used += size;
  }
  return { shown, omitted: items.length - shown.length };
}

function runnerSummaries(state: State, runners: RunnerRegistry, placing: Placing, now: number): RunnerSummary[] {
  return [...runners.all()].map((conn) => ({
    name: conn.name, slots: conn.slots, labels: [...conn.labels], busy: conn.leases.size, draining: conn.draining,
    paused: state.paused.has(conn.name), unhealthy: placing.runnerHealth(conn.name, now),
    running: [...conn.leases].slice(0, SHOWN_COMMITS_OF_RUNNER).flatMap((id) => {
      const lease = state.leases.get(id);
      return lease ? [lease.build.commit] : [];
    }),
  }));
}

/** The overview: active builds first (in queue order), then the recent ones, newest first. */
export function overview(state: State, runners: RunnerRegistry, now = Date.now(), placing: Placing = registryPlacing(runners)): Status {
  const active = [...state.builds.values()].filter((build) => !isFinished(build.status));
  const finished = [...state.unwritten].map((key) => state.builds.get(key)).filter((build): build is BuildRecord => build !== undefined);
  const seen = new Set([...active, ...finished].map(keyOf));
  const recent = state.recent.filter((build) => !seen.has(keyOf(build)));
  const views = placing.runnerViews(now);
  const builds = [...active, ...finished, ...recent]
    .map((build) => summarise(build, state.unwritten.has(keyOf(build)), noteOf(build, state, views, placing, now)));
  const listedBuilds = within(builds, LINE_BUDGET / 2, LIMITS.overviewBuilds);
  const listedRunners = within(runnerSummaries(state, runners, placing, now), LINE_BUDGET / 2, LIMITS.overviewRunners);
  return {
    type: 'status',
    builds: listedBuilds.shown, omitted: listedBuilds.omitted,
    runners: listedRunners.shown, runnersOmitted: listedRunners.omitted,
    queued: state.queue.length,
    unwritten: finished.slice(0, LIMITS.overviewBuilds).map((build) => build.commit),
    unwrittenCount: state.unwritten.size,
    record: null, note: '',
  };
}

/** A job with everything a repository can make large cut down. */
function trimJob(job: JobRecord): JobRecord {
  return {
    ...job,
    spec: { ...job.spec, env: {}, run: job.spec.run === null ? null : [clip(job.spec.run.join(' '), LIMITS.printable)] },
    command: job.command.slice(0, 4).map((item) => clip(item, LIMITS.printable)),
    message: clip(job.message, LIMITS.printable),
    failedTests: job.failedTests.slice(0, 10).map((name) => clip(name, LIMITS.printable)),
    attempts: job.attempts.slice(-5).map((attempt) => ({ ...attempt, message: clip(attempt.message, LIMITS.printable) })),
    ...(job.artifacts ? { artifacts: { ...job.artifacts, files: job.artifacts.files.slice(0, 20), notes: job.artifacts.notes.map((note) => clip(note, LIMITS.printable)) } } : {}),
  };
}

/** A build's record with every lease id removed (the status page shows it too). */
export function withoutLeases(build: BuildRecord): BuildRecord {
  return { ...build, jobs: build.jobs.map((job) => ({ ...job, attempts: job.attempts.map((attempt) => ({ ...attempt, lease: '' })) })) };
}

/**
 * A build's record for `keel status SHA`: lease ids removed, and trimmed
 * (env, run, long texts, old attempts) with a note when it would not fit in
 * one line; the whole record is in its result file once it is written.
 */
export function recordReply(overviewOfIt: Status, build: BuildRecord): Status {
  const record = withoutLeases(build);
  const fits = (candidate: BuildRecord) => Buffer.byteLength(JSON.stringify(candidate)) <= LINE_BUDGET;
  if (fits(record)) return { ...overviewOfIt, record };
  const trimmed = { ...record, message: clip(record.message, LIMITS.printable), jobs: record.jobs.map(trimJob) };
  const note = `this record is trimmed to fit one message (env, run and long texts shortened, the last 5 attempts and first 20 artifacts of each job); the whole record is in ${build.commit}.json`;
  return { ...overviewOfIt, record: trimmed, note };
}
