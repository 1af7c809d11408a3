// The gate's state as plain values, journaled whole (each change records the
// requests and batches it touched), so replay needs no decision made again.
//
// A request asks for one branch to land on a target (or only to be tried).
// A batch is one attempt at some requests together: their branches merged in
// turn onto the target's tip, or onto the merge of the batch ahead of it in
// the target's queue (stacked: tested at the same time, landing in turn),
// the merge tested, and the target moved to it. A failed batch of several is
// split in two halves, each a group of requests that queues again at the
// back and is batched on its own.

import type { BuildStatus, LandAttempt, LandState } from '../../protocol/records.js';

export type RequestKind = 'land' | 'try';

export interface LandRequest {
  id: string;
  kind: RequestKind;
  project: string | null;
  /** Full ref names: refs/heads/feature-x into refs/heads/main. */
  branch: string;
  target: string;
  /** The branch's head it is (or was last) tested with. */
  head: string;
  priority: number;
  squash: boolean;
  by: string;
  state: LandState;
  message: string;
  queuedAt: string;
  endedAt: string | null;
  flaky: boolean;
  landedAs: string | null;
  builds: LandAttempt[];
  /** The batch deciding it now; null while queued and once it is over. */
  batch: string | null;
  /** Arrival order among all requests: its number. */
  seq: number;
  /** Its place in the queue after priority: its arrival, or later once it was split from a failed batch. */
  order: number;
  /** The half of a failed batch it belongs to: the requests of a group are batched together and alone. */
  group: string | null;
  /** Jobs the failed batch it was split from failed for sure: failing them again needs no second run. */
  known: string[];
}

export type BatchState =
  | 'merging'
  /** Its merge is being tested. */
  | 'testing'
  /** Its verdict is in (`verdict`), and it waits for the batch it is stacked on to land. */
  | 'waiting'
  | 'landing'
  | 'done';

/** The failing jobs of a failed batch are run once more on the same commit, before its failure counts. */
export type RetryState = 'none' | 'running' | 'passed' | 'failed';

export interface Batch {
  id: string;
  kind: RequestKind;
  project: string | null;
  target: string;
  requests: string[];
  state: BatchState;
  /** Merges made for it: 1, then one more each time the target moved before it could land. */
  attempt: number;
  /** What runners fetch the merge from (the observer's repository). */
  repo: string | null;
  /** The batch ahead it is stacked on (null: the target's tip). */
  onto: string | null;
  /** What it was merged onto (the target's tip, or the merge of the batch ahead), and the merge (the last commit of the chain). */
  base: string | null;
  commit: string | null;
  retry: RetryState;
  /** While waiting: what it came to. */
  verdict: 'passed' | 'failed' | null;
  /** The jobs that did not pass in its last failed run. */
  failing: string[];
  endedAt: string | null;
  /** Its ref in origin (refs/keel/land/<id>) has been removed. */
  pruned: boolean;
}

export interface GateCounts {
  requests: number;
  batches: number;
  /** The last place in the queue given out. */
  order: number;
}

/** What a build of a batch's merge came to. */
export interface BatchBuild {
  commit: string;
  status: BuildStatus;
  flaky: boolean;
  /** 1 for the first run, 2 for the run again of its failing jobs. */
  run: number;
  /** Jobs that did not pass. */
  failing: string[];
}

export const FINAL_STATES: ReadonlySet<LandState> = new Set(['landed', 'passed', 'failed', 'conflict', 'cancelled', 'error']);

export const landRef = (batch: string) => `refs/keel/land/${batch}`;

// What the planner (plan.ts) is given and gives back.

export interface GateRules {
  /** Requests merged and tested together at most (--batch). */
  batchSize: number;
  /** Merges again after the target moved, before a batch gives up (--max-remerge). */
  maxRemerge: number;
  /** Batches of one target under way at once, each stacked on the one ahead. */
  depth: number;
}

/** How many batches of a target are stacked at most: enough to keep a few runners busy, few enough that a failure near the head wastes little. */
export const STACK_DEPTH = 4;

export interface GateView {
  requests: ReadonlyMap<string, LandRequest>;
  batches: ReadonlyMap<string, Batch>;
  counts: GateCounts;
}

export type Action =
  /** Merge the batch's requests onto `batch.base` (null: the target's tip). */
  | { kind: 'merge'; batch: Batch }
  | { kind: 'test'; batch: Batch }
  | { kind: 'retry'; batch: Batch; jobs: string[] }
  | { kind: 'land'; batch: Batch }
  | { kind: 'cancel-build'; batch: Batch }
  /** A request is over: whoever waits for it hears now. */
  | { kind: 'settled'; request: LandRequest };

export interface Step {
  requests: LandRequest[];
  batches: Batch[];
  counts: GateCounts;
  actions: Action[];
}
