// Which queued job goes to which runner, as a pure function of the queue,
// the runners and the time: (queue, runners, now) → assignments. Oldest
// first; each job to the runner with the most free slots among those with
// every label it needs; a job nobody can take yet does not hold up the rest.
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
const freeSlots = (runner: RunnerView, busy: number) => (runner.draining ? 0 : runner.slots - busy);

function dueAt(job: JobRecord, now: number): number {
  return job.notBefore === null ? now : Date.parse(job.notBefore);
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
    for (const runner of runners) {
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

/** Why a queued job is not running, in a few words. `position` counts from 1. */
export function waitReason(job: JobRecord, runners: readonly RunnerView[], position: number, now: number): string {
  if (dueAt(job, now) > now) return job.message || `retry not before ${job.notBefore}`;
  const labels = job.spec.labels;
  const withLabels = labels.length > 0 ? ` with labels ${labels.join(',')}` : '';
  const able = runners.filter((runner) => canRun(runner, job));
  const secure = needsSecure(job) ? ' over TLS or loopback (it is given secrets)' : '';
  if (able.length === 0) return `waiting for a runner${withLabels}${secure}`;
  if (able.every((runner) => freeSlots(runner, runner.busy) <= 0)) {
    return `all ${able.length} runner${able.length === 1 ? '' : 's'}${withLabels} busy`;
  }
  return `position ${position} in the queue`;
}
