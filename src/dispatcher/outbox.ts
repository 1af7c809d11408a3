// What the dispatcher owes the world beyond its own files: commit statuses
// for the forge (--forge-status), `finished` events for each project's
// observer, and runs of the --on-result hook. The reducer makes the items
// from the records that cause them — a job's `assign` makes its `pending`,
// its `result` its verdict, a settled build its event, a `written` one its
// hook run — so an item is exactly as durable as its record, and replay
// makes it again; a `delivered` record removes the items that are done.
// Pure, like the reducer: plain values, no clock, no I/O.

import { jobDetails } from '../common/verdict.js';
import { LIMITS } from '../protocol/limits.js';
import type { BuildRecord, BuildStatus, BuildSummary, JobRecord, JobSummary } from '../protocol/records.js';
import { summariseJob, summariseJobs } from './job-summary.js';
import { clip, summarise } from './queries.js';

export const FORGE_STATES = ['pending', 'success', 'failure', 'error'] as const;
export type ForgeState = (typeof FORGE_STATES)[number];

/** One job's state for the forge; `job` null speaks for a build that has no jobs (its keel.json could not be used). */
export interface StatusItem {
  id: number;
  project: string | null;
  repo: string;
  commit: string;
  job: string | null;
  state: ForgeState;
  description: string;
}

/** A finished build for its project's observer, until the observer says `heard`. */
export interface EventItem {
  id: number;
  build: BuildSummary;
  jobs: JobSummary[];
}

/** A build whose result files are written, for the --on-result hook; `previous` is its branch's verdict before it. */
export interface HookItem {
  id: number;
  build: BuildSummary;
  previous: BuildStatus | null;
}

export interface Outbox {
  /** The id the next item gets: ids only grow, so they order the items. */
  next: number;
  statuses: Map<number, StatusItem>;
  events: Map<number, EventItem>;
  hooks: Map<number, HookItem>;
  /** The last verdict of each branch (`<project> <ref>`), least recently given first. */
  verdicts: Map<string, BuildStatus>;
  /** The waiting status of each job (by target), so a newer state replaces an older one not yet posted. Not journaled. */
  latest: Map<string, number>;
  /** Items that went because their kind was over its limit, since start. Not journaled. */
  dropped: number;
}

/** Which outputs are on; `finished` events always are. */
export interface OutputRules {
  statuses: boolean;
  hooks: boolean;
}

export const NO_OUTPUTS: OutputRules = Object.freeze({ statuses: false, hooks: false });

export function emptyOutbox(): Outbox {
  return { next: 1, statuses: new Map(), events: new Map(), hooks: new Map(), verdicts: new Map(), latest: new Map(), dropped: 0 };
}

/** What one status replaces: the same job of the same commit on the same repository. */
export function targetOf(item: Pick<StatusItem, 'project' | 'repo' | 'commit' | 'job'>): string {
  return `${item.project ?? ''} ${item.repo} ${item.commit} ${item.job ?? ''}`;
}

const branchOf = (build: Pick<BuildRecord, 'project' | 'ref'>) => `${build.project ?? ''} ${build.ref}`;

function take(outbox: Outbox): number {
  const id = outbox.next;
  outbox.next += 1;
  return id;
}

/** Adds `item` to `map`; past `limit` the oldest item of the kind goes, and is returned. */
function keep<T extends { id: number }>(outbox: Outbox, map: Map<number, T>, item: T, limit: number): T | undefined {
  map.set(item.id, item);
  if (map.size <= limit) return undefined;
  const [id, oldest] = map.entries().next().value as [number, T];
  map.delete(id);
  outbox.dropped += 1;
  return oldest;
}

/**
 * Every record that makes an item takes its id whether or not the output is
 * on, so ids do not depend on the flags: a `delivered` record replayed by a
 * dispatcher started with other outputs still names the same items.
 */
function addStatus(outbox: Outbox, rules: OutputRules, build: BuildRecord, job: string | null, state: ForgeState, description: string): void {
  const id = take(outbox);
  if (!rules.statuses) return;
  const item: StatusItem = {
    id, project: build.project, repo: build.repo, commit: build.commit, job,
    state, description: clip(description, LIMITS.forgeDescription),
  };
  const target = targetOf(item);
  const older = outbox.latest.get(target);
  if (older !== undefined) outbox.statuses.delete(older);
  outbox.latest.set(target, item.id);
  const dropped = keep(outbox, outbox.statuses, item, LIMITS.outboxStatuses);
  if (dropped) outbox.latest.delete(targetOf(dropped));
}

/** The forge's word for how a job ended; null for a job that never ran (skipped: superseded), which posts nothing (see jobSkipped for `when`). */
export function forgeStateOf(status: BuildStatus): ForgeState | null {
  switch (status) {
    case 'passed': return 'success';
    case 'failed': return 'failure';
    case 'error':
    case 'cancelled': return 'error';
    case 'skipped': return null;
    case 'queued':
    case 'running': return 'pending';
  }
}

/** An attempt of `job` was leased to a runner. */
export function jobStarted(outbox: Outbox, rules: OutputRules, build: BuildRecord, job: JobRecord): void {
  const attempt = job.attempts.at(-1);
  const where = attempt ? `running on ${attempt.runner}${attempt.attempt > 1 ? ` (attempt ${attempt.attempt})` : ''}` : 'running';
  addStatus(outbox, rules, build, job.name, 'pending', where);
}

/**
 * A job's attempt ended: its verdict when the job is done; when it goes back
 * to the queue (a retry after a failure), still pending, saying why.
 */
export function jobEnded(outbox: Outbox, rules: OutputRules, build: BuildRecord, job: JobRecord): void {
  if (job.status === 'queued') return addStatus(outbox, rules, build, job.name, 'pending', job.message || 'queued again');
  // A job cancelled before it ever started has nothing on the forge to end.
  if (job.status === 'cancelled' && job.attempts.length === 0) return;
  const state = forgeStateOf(job.status);
  if (state === null) return;
  addStatus(outbox, rules, build, job.name, state, jobDetails(summariseJob(job)));
}

/**
 * A job whose `when` did not hold: a verdict that needs no run, posted as
 * success so that a check the forge requires is not left pending.
 */
export function jobSkipped(outbox: Outbox, rules: OutputRules, build: BuildRecord, job: JobRecord): void {
  addStatus(outbox, rules, build, job.name, 'success', `skipped: ${job.message}`);
}

/** `keel retry`: the reopened jobs are pending again. */
export function buildReopened(outbox: Outbox, rules: OutputRules, build: BuildRecord, jobs: JobRecord[]): void {
  for (const job of jobs) addStatus(outbox, rules, build, job.name, 'pending', `queued (run ${build.run})`);
}

/** A build finished: its event for the observer, and for a build with no jobs its one status. */
export function buildFinished(outbox: Outbox, rules: OutputRules, build: BuildRecord): void {
  if (build.jobs.length === 0) {
    const state = forgeStateOf(build.status);
    if (state !== null) addStatus(outbox, rules, build, null, state, build.message || build.status);
  }
  keep(outbox, outbox.events, { id: take(outbox), build: summarise(build, false), jobs: summariseJobs(build) }, LIMITS.outboxEvents);
}

/** A finished build's files are written: the hook may read them. Its verdict becomes its branch's. */
export function buildWritten(outbox: Outbox, rules: OutputRules, build: BuildRecord): void {
  const branch = branchOf(build);
  const previous = outbox.verdicts.get(branch) ?? null;
  if (build.status === 'passed' || build.status === 'failed' || build.status === 'error') {
    outbox.verdicts.delete(branch);
    outbox.verdicts.set(branch, build.status);
    if (outbox.verdicts.size > LIMITS.branchVerdicts) outbox.verdicts.delete(outbox.verdicts.keys().next().value as string);
  }
  const id = take(outbox);
  if (rules.hooks) keep(outbox, outbox.hooks, { id, build: summarise(build, false), previous }, LIMITS.outboxHooks);
}

/** Items done (posted, heard, run) or given up on. */
export function deliver(outbox: Outbox, ids: readonly number[]): void {
  for (const id of ids) {
    const status = outbox.statuses.get(id);
    if (status && outbox.latest.get(targetOf(status)) === id) outbox.latest.delete(targetOf(status));
    outbox.statuses.delete(id);
    outbox.events.delete(id);
    outbox.hooks.delete(id);
  }
}
