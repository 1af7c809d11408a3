// The gate's state as plain values, journaled whole (each change records the
// requests and batches it touched), so replay needs no decision made again.
//
// A request asks for one branch to land on a target (or only to be tried).
// A batch is one attempt at some requests together: their branches merged in
// turn onto the target's tip, the merge tested, and the target moved to it.
// A failed batch of several is split in two halves, each a batch of its own
// (its children); a request belongs to the innermost batch deciding it.

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
  /** Arrival order among all requests: the queue's tie-break after priority. */
  seq: number;
}

export type BatchState =
  | 'merging'
  /** Its merge is being tested. */
  | 'testing'
  /**
   * Its verdict is in (`verdict`), and it waits for a batch above it whose
   * failure is being confirmed: were that failure a flaky one, the batch
   * above lands whole instead.
   */
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
  /** The target's tip it was merged onto, and the merge (the last commit of the chain). */
  base: string | null;
  commit: string | null;
  retry: RetryState;
  /** While waiting: what it came to. */
  verdict: 'passed' | 'failed' | null;
  parent: string | null;
  children: string[];
  endedAt: string | null;
  /** Its ref in origin (refs/keel/land/<id>) has been removed. */
  pruned: boolean;
}

export interface GateCounts {
  requests: number;
  batches: number;
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
