// Which queued job goes to which runner, as a pure function of the queue,
// the runners and the time: (queue, runners, now) → assignments. Oldest
// first; each job to the runner with the most free slots among those with
// every label it needs; a job nobody can take yet does not hold up the rest.
// A runner that is draining, paused or unhealthy takes nothing new. A job
// whose attempt failed on a runner for the runner's reasons (lost, fetch or
// checkout failed) goes to another runner that could take it, if there is
// one, rather than burn its next attempt on the same broken runner.
// Also why a job waits, for people, from the same values.

import type { JobRecord } from '../protocol/records.js';
import type { QueuedJob } from './state.js';

/** What placement needs to know of a connected runner. */
export interface RunnerView {
  name: string;
  slots: number;
  /** Leases it holds now. */
  busy: number;
  labels: readonly string[];
  draining: boolean;
  /** An admin paused it (keel runner pause). */
  paused?: boolean;
  /** Backing off after infrastructure failures in a row (runner-health.ts). */
  unhealthy?: boolean;
  /** Its connection may carry secrets: TLS, loopback, or the dispatcher's --insecure. */
  secure?: boolean;
}

export interface Assignment {
  queued: QueuedJob;
  runner: string;
}

export interface Placement {
  assignments: Assignment[];
  /** When the earliest job held back by its retry delay becomes due; null when none is. */
  nextDueAt: number | null;
}

/** A job given secrets goes only to a runner whose connection may carry them. */
const needsSecure = (job: JobRecord) => (job.secrets?.granted.length ?? 0) > 0;
const canRun = (runner: RunnerView, job: JobRecord) =>
  job.spec.labels.every((label) => runner.labels.includes(label)) && (runner.secure === true || !needsSecure(job));
const takesJobs = (runner: RunnerView) => !runner.draining && !runner.paused && !runner.unhealthy;
const freeSlots = (runner: RunnerView, busy: number) => (takesJobs(runner) ? runner.slots - busy : 0);

function dueAt(job: JobRecord, now: number): number {
  return job.notBefore === null ? now : Date.parse(job.notBefore);
}

const EMPTY: ReadonlySet<string> = new Set();

/** Runners an attempt of this job failed on for their own reasons. */
export function failedOn(job: JobRecord): Set<string> {
  return new Set(job.attempts.filter((attempt) => attempt.status === 'lost' || attempt.infra).map((attempt) => attempt.runner));
}

/**
 * The runners `job` may go to: those with its labels, without the ones it
 * failed on while another runner that takes jobs could have it (busy or not:
 * it is waited for).
 */
function candidates(job: JobRecord, runners: readonly RunnerView[]): RunnerView[] {
  const able = runners.filter((runner) => canRun(runner, job));
  // Most jobs have never failed anywhere: the placement loop stays as cheap as it was.
  const avoid = job.attempts.length === 0 ? EMPTY : failedOn(job);
  if (avoid.size === 0) return able;
  const others = able.filter((runner) => !avoid.has(runner.name));
  return others.some(takesJobs) ? others : able;
}

export function place(queue: readonly QueuedJob[], runners: readonly RunnerView[], now: number): Placement {
  const busy = new Map(runners.map((runner) => [runner.name, runner.busy]));
  const assignments: Assignment[] = [];
  let nextDueAt: number | null = null;
  // With every slot taken nothing can start, however long the queue: stop there.
  let free = runners.filter((runner) => freeSlots(runner, runner.busy) > 0).length;
  for (const queued of queue) {
    if (free === 0) break;
    const due = dueAt(queued.job, now);
    if (due > now) {
      nextDueAt = nextDueAt === null ? due : Math.min(nextDueAt, due);
      continue;
    }
    let best: RunnerView | undefined;
    let bestFree = 0;
    const pool = queued.job.attempts.length === 0 ? runners : candidates(queued.job, runners);
    for (const runner of pool) {
      const slots = freeSlots(runner, busy.get(runner.name)!);
      if (slots > bestFree && canRun(runner, queued.job)) {
        best = runner;
        bestFree = slots;
      }
    }
    if (!best) continue;
    assignments.push({ queued, runner: best.name });
    busy.set(best.name, busy.get(best.name)! + 1);
    if (bestFree === 1) free -= 1;
  }
  return { assignments, nextDueAt };
}

export interface WaitContext {
  /** Finished builds whose result files wait to be written, while that holds every new job back; else null. */
  unwritten: number | null;
}

/** Why a queued job is not running, in a few words. `position` counts from 1. */
export function waitReason(job: JobRecord, runners: readonly RunnerView[], position: number, now: number, context: WaitContext = { unwritten: null }): string {
  if (dueAt(job, now) > now) return job.message || `retry not before ${job.notBefore}`;
  if (context.unwritten !== null) {
    return `waiting for disk: ${context.unwritten} finished builds' result files are not written yet (--max-unwritten)`;
  }
  const labels = job.spec.labels;
  const withLabels = labels.length > 0 ? ` with labels ${labels.join(',')}` : '';
  const able = runners.filter((runner) => canRun(runner, job));
  const secure = needsSecure(job) ? ' over TLS or loopback (it is given secrets)' : '';
  if (able.length === 0) return `waiting for a runner${withLabels}${secure}`;
  const mayTake = candidates(job, runners);
  if (mayTake.some((runner) => freeSlots(runner, runner.busy) > 0)) return `position ${position} in the queue`;
  const avoided = able.filter((runner) => !mayTake.includes(runner)).map((runner) => runner.name);
  if (avoided.length > 0 && mayTake.every((runner) => takesJobs(runner) && runner.busy >= runner.slots)) {
    return `waiting for a runner other than ${avoided.join(', ')}, where it failed (all ${mayTake.length} others busy)`;
  }
  const states = { busy: 0, draining: 0, paused: 0, unhealthy: 0 };
  for (const runner of mayTake) {
    if (runner.unhealthy) states.unhealthy += 1;
    else if (runner.paused) states.paused += 1;
    else if (runner.draining) states.draining += 1;
    else states.busy += 1;
  }
  const plural = mayTake.length === 1 ? '' : 's';
  if (states.busy === mayTake.length) return `all ${mayTake.length} runner${plural}${withLabels} busy`;
  const parts = Object.entries(states).filter(([, n]) => n > 0).map(([state, n]) => `${n} ${state}`);
  return `no runner${withLabels} free: ${parts.join(', ')}`;
}
