// The dispatcher's state as plain values: builds, the queue, the leases, the
// commands waiting for an observer. Only the reducer changes it; everything
// else reads it. Connections are not here: which runner connection holds a
// lease is the runner registry's business, since it is not journaled.

import type { ObserverCommand } from '../protocol/messages.js';
import type { AttemptRecord, BuildRecord, JobRecord } from '../protocol/records.js';
import { isFinished } from './build.js';
import { keyOf, type BuildKey } from './records.js';

export interface QueuedJob {
  build: BuildRecord;
  job: JobRecord;
}

/** One attempt of a job, leased to the runner named in `attempt.runner`. */
export interface Lease extends QueuedJob {
  id: string;
  attempt: AttemptRecord;
}

export interface PendingCommand {
  id: string;
  project: string | null;
  command: ObserverCommand;
  by: string;
  at: string;
}

export interface State {
  /** Active builds, and finished ones whose result files are not written yet. */
  builds: Map<BuildKey, BuildRecord>;
  /** Queued jobs in the order they are offered to runners. */
  queue: QueuedJob[];
  leases: Map<string, Lease>;
  /** Finished builds whose result files are not written yet. */
  unwritten: Set<BuildKey>;
  /** The last few finished builds, newest first, for queries (not journaled). */
  recent: BuildRecord[];
  commands: Map<string, PendingCommand>;
  /** Commands made so far: the next id is C-<count + 1>. */
  commandCount: number;
  /** Runners an admin paused (by name): they take no new job. */
  paused: Set<string>;
}

/** What the journal's snapshot holds: enough to rebuild the state. */
export interface Snapshot {
  builds: BuildRecord[];
  queue: Array<{ key: BuildKey; job: string }>;
  commands?: PendingCommand[];
  commandCount?: number;
  /** Absent in snapshots written before runners could be paused. */
  paused?: string[];
}

export function emptyState(): State {
  return { builds: new Map(), queue: [], leases: new Map(), unwritten: new Set(), recent: [], commands: new Map(), commandCount: 0, paused: new Set() };
}

export function snapshotOf(state: State): Snapshot {
  return {
    builds: [...state.builds.values()],
    queue: state.queue.map(({ build, job }) => ({ key: keyOf(build), job: job.name })),
    commands: [...state.commands.values()],
    commandCount: state.commandCount,
    paused: [...state.paused].sort(),
  };
}

/** The state a snapshot describes; jobs running when it was taken hold their leases again. */
export function stateFrom(snapshot: Snapshot | null): State {
  const state = emptyState();
  if (snapshot === null) return state;
  for (const build of snapshot.builds) {
    const key = keyOf(build);
    state.builds.set(key, build);
    if (isFinished(build.status)) state.unwritten.add(key);
    for (const job of build.jobs) {
      const attempt = job.attempts.at(-1);
      if (job.status === 'running' && attempt?.status === 'running') {
        state.leases.set(attempt.lease, { id: attempt.lease, build, job, attempt });
      }
    }
  }
  for (const { key, job } of snapshot.queue) {
    const build = state.builds.get(key);
    const record = build?.jobs.find((j) => j.name === job);
    if (build && record && record.status === 'queued') state.queue.push({ build, job: record });
  }
  for (const command of snapshot.commands ?? []) state.commands.set(command.id, command);
  state.commandCount = snapshot.commandCount ?? 0;
  for (const runner of snapshot.paused ?? []) state.paused.add(runner);
  return state;
}
