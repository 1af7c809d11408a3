// The dispatcher's state as plain values: builds, the queue, the leases, the
// commands waiting for an observer. Only the reducer changes it; everything
// else reads it. Connections are not here: which runner connection holds a
// lease is the runner registry's business, since it is not journaled.

import type { ObserverCommand } from '../protocol/messages.js';
import type { AttemptRecord, BuildRecord, BuildStatus, JobRecord } from '../protocol/records.js';
import { isFinished } from './build.js';
import type { Batch, GateCounts, LandRequest } from './gate/types.js';
import type { PatchCounts, PatchEntry } from './patches/types.js';
import { emptyOutbox, targetOf, type EventItem, type HookItem, type Outbox, type StatusItem } from './outbox.js';
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
  /** The gate: land and try requests, and the batches they are tested in. */
  requests: Map<string, LandRequest>;
  batches: Map<string, Batch>;
  gateCounts: GateCounts;
  /** Patch series and their versions, applications and results. */
  patches: Map<string, PatchEntry>;
  patchCounts: PatchCounts;
  /** Statuses, events and hook runs owed to the world outside (outbox.ts). */
  outbox: Outbox;
  /** Runners an admin paused (by name): they take no new job. */
  paused: Set<string>;
}

/** What the journal's snapshot holds: enough to rebuild the state. */
export interface Snapshot {
  builds: BuildRecord[];
  queue: Array<{ key: BuildKey; job: string }>;
  commands?: PendingCommand[];
  commandCount?: number;
  requests?: LandRequest[];
  batches?: Batch[];
  gateCounts?: GateCounts;
  patches?: PatchEntry[];
  patchCounts?: PatchCounts;
  /** Absent in snapshots written before the outbox. */
  outbox?: OutboxSnapshot;
  /** Absent in snapshots written before runners could be paused. */
  paused?: string[];
}

export interface OutboxSnapshot {
  next: number;
  statuses: StatusItem[];
  events: EventItem[];
  hooks: HookItem[];
  verdicts: Array<{ branch: string; status: BuildStatus }>;
}

export function emptyState(): State {
  return {
    builds: new Map(), queue: [], leases: new Map(), unwritten: new Set(), recent: [], commands: new Map(), commandCount: 0,
    requests: new Map(), batches: new Map(), gateCounts: { requests: 0, batches: 0, order: 0 },
    patches: new Map(), patchCounts: { patches: 0 }, outbox: emptyOutbox(), paused: new Set(),
  };
}

export function snapshotOf(state: State): Snapshot {
  return {
    builds: [...state.builds.values()],
    queue: state.queue.map(({ build, job }) => ({ key: keyOf(build), job: job.name })),
    commands: [...state.commands.values()],
    commandCount: state.commandCount,
    requests: [...state.requests.values()],
    batches: [...state.batches.values()],
    gateCounts: state.gateCounts,
    patches: [...state.patches.values()],
    patchCounts: state.patchCounts,
    outbox: {
      next: state.outbox.next,
      statuses: [...state.outbox.statuses.values()],
      events: [...state.outbox.events.values()],
      hooks: [...state.outbox.hooks.values()],
      verdicts: [...state.outbox.verdicts].map(([branch, status]) => ({ branch, status })),
    },
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
  for (const request of snapshot.requests ?? []) state.requests.set(request.id, request);
  for (const batch of snapshot.batches ?? []) state.batches.set(batch.id, batch);
  state.gateCounts = snapshot.gateCounts ?? state.gateCounts;
  for (const patch of snapshot.patches ?? []) state.patches.set(patch.id, patch);
  state.patchCounts = snapshot.patchCounts ?? state.patchCounts;
  if (snapshot.outbox) restoreOutbox(state.outbox, snapshot.outbox);
  for (const runner of snapshot.paused ?? []) state.paused.add(runner);
  return state;
}

function restoreOutbox(outbox: Outbox, saved: OutboxSnapshot): void {
  outbox.next = saved.next;
  for (const item of saved.statuses) {
    outbox.statuses.set(item.id, item);
    outbox.latest.set(targetOf(item), item.id);
  }
  for (const item of saved.events) outbox.events.set(item.id, item);
  for (const item of saved.hooks) outbox.hooks.set(item.id, item);
  for (const { branch, status } of saved.verdicts) outbox.verdicts.set(branch, status);
}
