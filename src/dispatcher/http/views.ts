// What the pages show, as plain values made from the dispatcher's state in
// memory (the same state `keel status` answers from, through the same
// summaries): the overview's runners, queue and branches, a build's record
// and its estimate. Pure: the handlers gather the inputs, the pages render
// the result, and /api/... serves it as JSON. No lease id is ever shown.

import type { Status } from '../../protocol/messages.js';
import type { BuildRecord, BuildSummary, LandSummary } from '../../protocol/records.js';
import type { PatchSummary } from '../../protocol/patch-records.js';
import type { Branch, BranchRecent } from '../branch-recent.js';
import { isFinished } from '../build.js';
import { queueOf, summariseRequest } from '../gate/summary.js';
import { listPatches } from '../patches/query.js';
import { waitReason } from '../placement.js';
import { summarise, type Placing } from '../queries.js';
export { withoutLeases } from '../queries.js';
import { keyOf } from '../records.js';
import type { RunnerConn } from '../runner-registry.js';
import type { State } from '../state.js';

/** The queue and branches a page lists at most; the rest are counted. */
const SHOWN_QUEUE = 100;
const SHOWN_BRANCHES = 50;
/** Land requests that are over, and patches, a page lists: the newest; `keel queue` and `keel patches` have the rest. */
const SHOWN_OVER = 10;
const SHOWN_PATCHES = 20;

export interface RunnerRow {
  name: string;
  labels: string[];
  slots: number;
  busy: number;
  draining: boolean;
  /** An admin paused it (keel runner pause). */
  paused: boolean;
  /** Why it gets no jobs for a while after infrastructure failures; null when healthy. */
  unhealthy: string | null;
  /** When it was last heard from (any message counts), ISO. */
  lastSeenAt: string | null;
  running: Array<{ commit: string; project: string | null; ref: string; job: string; title: string; attempt: number; startedAt: string }>;
}

export interface QueueRow {
  commit: string;
  project: string | null;
  ref: string;
  job: string;
  title: string;
  labels: string[];
  queuedAt: string;
  /** Why it waits, as `keel status` says it: `waiting for a runner with labels gpu`. */
  reason: string;
}

export interface BranchRow {
  project: string | null;
  ref: string;
  /** Newest first: the builds in the state first, then the index's. */
  builds: BuildSummary[];
}

export interface OverviewView {
  /** The overview `keel status --json` prints. */
  status: Status;
  runners: RunnerRow[];
  queue: QueueRow[];
  queueTotal: number;
  branches: BranchRow[];
  /** Every open land and try request in queue order, then the newest that are over (as `keel queue`). */
  landQueue: LandSummary[];
  /** The newest patches, as `keel patches --state` lists them. */
  patches: PatchSummary[];
}

export interface ViewInputs {
  state: State;
  runners: Iterable<RunnerConn>;
  placing: Placing;
  lastSeen(runner: RunnerConn): number | undefined;
  recent: BranchRecent;
  now: number;
}

/** `project`: undefined shows every project. */
export function overviewView(inputs: ViewInputs, status: Status, project: string | null | undefined): OverviewView {
  const { state, now } = inputs;
  const mine = (p: string | null) => project === undefined || p === project;
  const runners: RunnerRow[] = [...inputs.runners].map((conn) => {
    const seen = inputs.lastSeen(conn);
    return {
      name: conn.name, labels: [...conn.labels], slots: conn.slots, busy: conn.leases.size, draining: conn.draining,
      paused: state.paused.has(conn.name), unhealthy: inputs.placing.runnerHealth(conn.name, now),
      lastSeenAt: seen === undefined ? null : new Date(seen).toISOString(),
      running: [...conn.leases].flatMap((id) => {
        const lease = state.leases.get(id);
        if (!lease) return [];
        const { build, job, attempt } = lease;
        return [{ commit: build.commit, project: build.project, ref: build.ref, job: job.name, title: job.spec.title, attempt: attempt.attempt, startedAt: attempt.startedAt }];
      }),
    };
  });
  const queued = state.queue.filter((q) => mine(q.build.project));
  const views = inputs.placing.runnerViews(now);
  const queue = queued.slice(0, SHOWN_QUEUE).map(({ build, job }, i): QueueRow => ({
    commit: build.commit, project: build.project, ref: build.ref, job: job.name, title: job.spec.title, labels: [...job.spec.labels],
    queuedAt: build.queuedAt, reason: waitReason(job, views, state.queue.indexOf(queued[i]!) + 1, now, inputs.placing.waitContext),
  }));
  return {
    status: project === undefined ? status : { ...status, builds: status.builds.filter((b) => b.project === project) },
    runners, queue, queueTotal: queued.length,
    branches: branchRows(state, inputs.recent.newest(SHOWN_BRANCHES, project), project),
    landQueue: landRows(state, project),
    patches: listPatches(state.patches.values(), { project: project ?? null, anyProject: project === undefined, state: null, flags: [], touchesNone: [], brokenByTrunk: false, sinceMs: null }, now).patches.slice(0, SHOWN_PATCHES),
  };
}

function landRows(state: State, project: string | null | undefined): LandSummary[] {
  const ordered = queueOf([...state.requests.values()].filter((r) => project === undefined || r.project === project));
  const open = ordered.filter((r) => r.endedAt === null);
  return [...open, ...ordered.slice(open.length, open.length + SHOWN_OVER)].map(summariseRequest);
}

/** Each branch with a build in the state or the index: the newest builds of each, active ones first. */
function branchRows(state: State, indexed: Branch[], project: string | null | undefined): BranchRow[] {
  const rows = new Map<string, BranchRow>();
  const rowOf = (p: string | null, ref: string) => {
    const key = `${p ?? ''}\u0000${ref}`;
    let row = rows.get(key);
    if (!row) {
      row = { project: p, ref, builds: [] };
      rows.set(key, row);
    }
    return row;
  };
  const active = [...state.builds.values()]
    .filter((b) => project === undefined || b.project === project)
    .sort((a, b) => b.queuedAt.localeCompare(a.queuedAt));
  for (const build of active) rowOf(build.project, build.ref).builds.push(summarise(build, state.unwritten.has(keyOf(build))));
  for (const branch of indexed) {
    const row = rowOf(branch.project, branch.ref);
    // The index holds them in the order their files were written; people read them by when they ended.
    const finished = [...branch.builds].sort((a, b) => (b.endedAt ?? '').localeCompare(a.endedAt ?? ''));
    for (const build of finished) {
      if (!row.builds.some((b) => b.commit === build.commit && b.run === build.run)) row.builds.push(build);
    }
  }
  return [...rows.values()].slice(0, SHOWN_BRANCHES).map((row) => ({ ...row, builds: row.builds.slice(0, 5) }));
}

export interface Estimate {
  /** When the build should end, ISO. */
  endsAt: string;
  /** The passing build of the branch it is judged from. */
  from: string;
  durationMs: number;
}

/** A running build's end, judged from its branch's last passing build; null when there is none to judge from. */
export function estimateEnd(build: Pick<BuildRecord, 'status' | 'startedAt' | 'project' | 'ref'>, recent: BranchRecent): Estimate | null {
  if (isFinished(build.status) || build.startedAt === null) return null;
  const passing = recent.of(build.project, build.ref)?.lastPassing;
  if (!passing || passing.durationMs === null) return null;
  return { endsAt: new Date(Date.parse(build.startedAt) + passing.durationMs).toISOString(), from: passing.commit, durationMs: passing.durationMs };
}
