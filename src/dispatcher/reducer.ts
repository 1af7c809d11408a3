// The reducer: one journal record applied to the state. The same code runs
// live and at replay, so it reads no clock (times come from the record), does
// no I/O, and never throws: a record that no longer fits the state (its build
// is gone, its lease was already lost) changes nothing, so replay accepts
// every journal a running dispatcher wrote.

import { PUSH, type BuildRecord, type JobRecord } from '../protocol/records.js';
import { cancelJob, finishAttempt, isFinished, loseAttempt, newBuild, reopenBuild, settleBuild, startAttempt, summarise } from './build.js';
import { buildFinished, buildReopened, buildWritten, deliver, jobEnded, jobSkipped, jobStarted, NO_OUTPUTS, type OutputRules } from './outbox.js';
import { buildKey, keyOf, type JournalRecord } from './records.js';
import { forgetOld } from './gate/retention.js';
import { settleGenerator } from './generated-jobs.js';
import type { Lease, State } from './state.js';

export interface Rules {
  /** Runner losses and infrastructure failures before a job ends as error. */
  maxAttempts: number;
  /** The outputs that make outbox items beyond `finished` events: none when absent. */
  outputs?: OutputRules;
}

/** How many finished builds `recent` keeps for queries. */
export const RECENT_BUILDS = 20;

/** Applies `record` to `state`; returns the builds it finished. */
export function reduce(state: State, record: JournalRecord, rules: Rules): BuildRecord[] {
  const outputs = rules.outputs ?? NO_OUTPUTS;
  switch (record.op) {
    case 'commit': return applyCommit(state, record, outputs);
    case 'assign': return applyAssign(state, record, outputs);
    case 'lost': {
      const lease = takeLease(state, record.lease);
      if (!lease) return [];
      const at = new Date(record.at);
      if (loseAttempt(lease.job, lease.attempt, record.reason, rules.maxAttempts, at)) {
        jobEnded(state.outbox, outputs, lease.build, lease.job);
        return settle(state, lease.build, at, outputs);
      }
      summarise(lease.build);
      state.queue.unshift({ build: lease.build, job: lease.job });
      return [];
    }
    case 'result': {
      const lease = takeLease(state, record.lease);
      if (!lease) return [];
      const at = new Date(record.at);
      finishAttempt(lease.job, lease.attempt, record.outcome, rules.maxAttempts, at);
      if (record.junitFile !== null) lease.job.junit = record.junitFile;
      if (record.artifacts) lease.job.artifacts = record.artifacts;
      if (lease.job.status === 'queued') state.queue.unshift({ build: lease.build, job: lease.job });
      const added = lease.job.spec.generator ? settleGenerator(lease.build, lease.job, record.generated, at) : [];
      jobEnded(state.outbox, outputs, lease.build, lease.job);
      for (const job of added) {
        if (job.status === 'queued') enqueue(state, lease.build, job);
        else if (job.status === 'skipped') jobSkipped(state.outbox, outputs, lease.build, job);
      }
      return settle(state, lease.build, at, outputs);
    }
    case 'cancel': {
      const build = state.builds.get(record.key);
      if (!build || isFinished(build.status)) return [];
      const at = new Date(record.at);
      for (const job of build.jobs) {
        if (isFinished(job.status)) continue;
        const lease = leaseOf(state, job);
        if (lease) takeLease(state, lease.id);
        unqueue(state, job);
        cancelJob(job, 'cancelled', `cancelled by ${record.by}`, at);
        jobEnded(state.outbox, outputs, build, job);
      }
      return settle(state, build, at, outputs);
    }
    case 'retry': return applyRetry(state, record, outputs);
    case 'written': {
      const build = state.builds.get(record.key);
      // A `written` of an earlier run (retried meanwhile) leaves the new run alone.
      if (!build || !isFinished(build.status) || (record.run !== undefined && record.run !== build.run)) return [];
      buildWritten(state.outbox, outputs, build);
      state.unwritten.delete(record.key);
      state.builds.delete(record.key);
      return [];
    }
    case 'command':
      state.commands.set(record.id, { id: record.id, project: record.project, command: record.command, by: record.by, at: record.at });
      state.commandCount = Math.max(state.commandCount, Number(record.id.slice(2)) || state.commandCount + 1);
      return [];
    case 'command-done':
      state.commands.delete(record.id);
      return [];
    case 'gate':
      for (const request of record.requests) state.requests.set(request.id, structuredClone(request));
      for (const batch of record.batches) state.batches.set(batch.id, structuredClone(batch));
      state.gateCounts = {
        requests: Math.max(state.gateCounts.requests, record.counts.requests),
        batches: Math.max(state.gateCounts.batches, record.counts.batches),
        order: Math.max(state.gateCounts.order, record.counts.order),
      };
      forgetOld(state.requests, state.batches);
      return [];
    case 'patch':
      for (const patch of record.patches) state.patches.set(patch.id, structuredClone(patch));
      state.patchCounts = { patches: Math.max(state.patchCounts.patches, record.counts.patches) };
      return [];
    case 'delivered':
      deliver(state.outbox, record.ids);
      return [];
    case 'pause':
      if (record.paused) state.paused.add(record.runner);
      else state.paused.delete(record.runner);
      return [];
  }
}

function applyCommit(state: State, record: Extract<JournalRecord, { op: 'commit' }>, outputs: OutputRules): BuildRecord[] {
  const subject = record.subject ?? PUSH;
  const key = buildKey(record.project, subject, record.commit);
  if (state.builds.has(key)) return [];
  const at = new Date(record.at);
  const build = newBuild({ ...record, subject, specs: record.jobs }, at);
  state.builds.set(key, build);
  const finished: BuildRecord[] = [];
  for (const job of build.jobs) {
    if (job.status === 'queued') enqueue(state, build, job);
    else if (job.status === 'skipped') jobSkipped(state.outbox, outputs, build, job);
  }
  // A bad keel.json's build, or one whose every job was skipped by its `when`, is finished already.
  finished.push(...settle(state, build, at, outputs));
  if (!record.supersede || subject.kind !== 'push') return finished;
  // A newer commit on the branch makes older builds that never started moot.
  for (const older of state.builds.values()) {
    // Jobs its `when` skipped do not count as started.
    const untouched = older !== build && older.project === build.project && older.subject.kind === 'push' && older.ref === build.ref
      && older.status === 'queued' && older.jobs.every((job) => (job.status === 'queued' || job.status === 'skipped') && job.attempts.length === 0);
    if (!untouched) continue;
    for (const job of older.jobs) {
      if (job.status !== 'queued') continue;
      unqueue(state, job);
      cancelJob(job, 'skipped', `superseded by ${build.commit}`, at);
    }
    finished.push(...settle(state, older, at, outputs));
  }
  return finished;
}

/** At the back of the queue; an ordinary build's jobs go ahead of every background build's. */
function enqueue(state: State, build: BuildRecord, job: JobRecord): void {
  const { queue } = state;
  // Background jobs are all at the back, so a queue whose last job is an ordinary one has none.
  if (build.background || queue.length === 0 || !queue.at(-1)!.build.background) {
    queue.push({ build, job });
    return;
  }
  queue.splice(queue.findIndex((queued) => queued.build.background), 0, { build, job });
}

function applyAssign(state: State, record: Extract<JournalRecord, { op: 'assign' }>, outputs: OutputRules): BuildRecord[] {
  const build = state.builds.get(record.key);
  const job = build?.jobs.find((j) => j.name === record.job);
  if (!build || !job || job.status !== 'queued' || state.leases.has(record.lease)) return [];
  unqueue(state, job);
  const attempt = startAttempt(job, record.lease, record.runner, new Date(record.at), build.run);
  state.leases.set(record.lease, { id: record.lease, build, job, attempt });
  summarise(build);
  jobStarted(state.outbox, outputs, build, job);
  return [];
}

function applyRetry(state: State, record: Extract<JournalRecord, { op: 'retry' }>, outputs: OutputRules): BuildRecord[] {
  const key = keyOf(record.build);
  const current = state.builds.get(key);
  if (current && !isFinished(current.status)) return [];
  const build = structuredClone(record.build);
  // Journals written before runs were counted hold the build already reopened.
  const wanted = record.jobs ?? (record.job === null ? null : [record.job]);
  const jobs = isFinished(build.status) ? reopenBuild(build, wanted) : reopened(build);
  if (jobs.length === 0) return [];
  state.builds.set(key, build);
  // The earlier run's files no longer matter: this run writes its own.
  state.unwritten.delete(key);
  state.recent = state.recent.filter((old) => keyOf(old) !== key);
  for (const job of jobs) enqueue(state, build, job);
  summarise(build);
  buildReopened(state.outbox, outputs, build, jobs);
  return [];
}

function reopened(build: BuildRecord): JobRecord[] {
  build.run += 1;
  return build.jobs.filter((job) => job.status === 'queued');
}

function leaseOf(state: State, job: JobRecord): Lease | undefined {
  const attempt = job.attempts.at(-1);
  const lease = attempt ? state.leases.get(attempt.lease) : undefined;
  return lease?.job === job ? lease : undefined;
}

function unqueue(state: State, job: JobRecord): void {
  const index = state.queue.findIndex((queued) => queued.job === job);
  if (index !== -1) state.queue.splice(index, 1);
}

function takeLease(state: State, id: string): Lease | undefined {
  const lease = state.leases.get(id);
  if (lease) state.leases.delete(id);
  return lease;
}

/** Settles the build if all its jobs are done (a build made finished, a bad keel.json's, counts too). */
function settle(state: State, build: BuildRecord, at: Date, outputs: OutputRules): BuildRecord[] {
  summarise(build);
  if (!settleBuild(build, at)) return [];
  const key = keyOf(build);
  state.unwritten.add(key);
  state.recent = [build, ...state.recent.filter((old) => keyOf(old) !== key)].slice(0, RECENT_BUILDS);
  buildFinished(state.outbox, outputs, build);
  return [build];
}
