// Patches as the dispatcher keeps them: the record `keel patch show` prints,
// plus what the planner needs besides (a retest waiting for a slot, the
// narrowing of a trunk change that broke it). Journaled whole on every
// change, so replay makes no decision again.

import type { PatchRecord } from '../../protocol/patch-records.js';

/** Narrowing which trunk commit broke a patch: first the trunk commits in question are asked for, then halved by applying the patch on one of them. */
export type Bisect =
  | { phase: 'range' }
  /** `commits`: the trunk after the last good commit up to the first bad one, oldest first; commits[good] passes (-1: the last good itself), commits[bad] fails. */
  | { phase: 'search'; commits: string[]; good: number; bad: number };

export interface PatchEntry extends PatchRecord {
  /** Arrival order. */
  seq: number;
  /** A trunk commit it waits to be retested on, for a free retest slot; a newer trunk replaces it. */
  pendingRetest: string | null;
  bisect: Bisect | null;
  /** What runners fetch its applications from: the repository of the observer that applied it last. */
  repo: string | null;
}

export interface PatchCounts {
  patches: number;
}

export interface PatchRules {
  /** Retests (and narrowing steps) under way at once, from applying to the end of their build (--max-retests). */
  maxRetests: number;
}

/** The ref an application is pushed to in origin. */
export const patchRef = (id: string, version: number, n: number) => `refs/keel/patches/${id}/${version}.${n}`;

// What the planner (plan.ts) is given and gives back.

export interface PatchView {
  patches: ReadonlyMap<string, PatchEntry>;
  counts: PatchCounts;
}

export type Action =
  | { kind: 'apply'; patch: string; version: number; n: number }
  /** Build `commit` (an application's, or its tests alone); a background build waits behind ordinary ones. */
  | { kind: 'test'; patch: string; version: number; n: number; commit: string; background: boolean }
  | { kind: 'cancel-build'; patch: string; commit: string }
  | { kind: 'range'; patch: string; from: string; to: string };

export interface Step {
  patches: PatchEntry[];
  counts: PatchCounts;
  actions: Action[];
}
