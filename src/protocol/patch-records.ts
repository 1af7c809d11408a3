// The patch queue's records: a patch, its versions, each application of a
// version onto a commit and how its build went, and what broke it on trunk;
// shared by the wire (`patch-list`, `patch-record`), the dispatcher's
// journal and `keel patch show --json`.

import type { BuildStatus } from './records.js';

/** Where a patch stands: `open` while a version of it is being applied or tested. */
export const PATCH_STATES = ['open', 'passed', 'failed', 'conflict', 'closed'] as const;
export type PatchState = (typeof PATCH_STATES)[number];

/** Why a patch was applied: the first test of a version, again on a newer trunk, or on a trunk commit in between (narrowing what broke it). */
export const APPLICATION_PURPOSES = ['test', 'retest', 'bisect'] as const;
export type ApplicationPurpose = (typeof APPLICATION_PURPOSES)[number];

export const APPLICATION_STATES = ['applying', 'testing', 'passed', 'failed', 'conflict', 'error', 'cancelled'] as const;
export type ApplicationState = (typeof APPLICATION_STATES)[number];

/** Whether the tests a patch changes fail without the rest of it: `verified` (they fail without, pass with), `tests-pass-without-fix`, or `n/a` (it does not change both). */
export const FIX_CHECKS = ['verified', 'tests-pass-without-fix', 'n/a'] as const;
export type FixCheck = (typeof FIX_CHECKS)[number];

/** One application of a version of a patch: onto which commit, the commit it made, and how its test went. */
export interface PatchApplication {
  /** 1, 2, …: its number within the version; its ref is refs/keel/patches/<id>/<version>.<n>. */
  n: number;
  purpose: ApplicationPurpose;
  /** The commit it was applied onto (the base, or the trunk's tip). */
  onto: string;
  applied: string | null;
  /** The patch's test changes alone on `onto`, when it changes tests and other files. */
  testsOnly: string | null;
  state: ApplicationState;
  /** How the build of `applied` ended, and that of `testsOnly`. */
  status: BuildStatus | null;
  testsOnlyStatus: BuildStatus | null;
  fix: FixCheck | null;
  /** Git's message for a conflict, why it could not be applied, or the build's. */
  message: string;
  at: string;
  endedAt: string | null;
}

export interface PatchVersion {
  version: number;
  /** `mbox`: applied with git am -3; `diff`: git apply --index and a commit. */
  format: 'mbox' | 'diff';
  /** Patches in the series (not counting a cover letter). */
  parts: number;
  cover: boolean;
  bytes: number;
  sha256: string;
  /** The files it touches (the first LIMITS.patchFiles). */
  files: string[];
  /** The base as given (--base or Based-on:), or null for the default branch. */
  baseSpec: string | null;
  base: string;
  by: string;
  submittedAt: string;
  applications: PatchApplication[];
}

/** A trunk change that broke a patch: the trunk it last passed on, the first it failed on, and the first failing trunk commit once narrowed. */
export interface BrokenByTrunk {
  good: string;
  bad: string;
  /** When the patch was first seen failing on the trunk. */
  at: string;
  /** The first trunk commit with which the patch fails; null while narrowing (or when it could not be). */
  first: string | null;
  /** The trunk commits still in question (between the last good and the first bad one known). */
  left: number;
  message: string;
}

export interface PatchRecord {
  id: string;
  project: string | null;
  /** The series' subject without its [PATCH …] prefix. */
  subject: string;
  /** Who wrote it, as the mail says ("Ann <ann@example.org>"). */
  author: string;
  state: PatchState;
  message: string;
  /** The branch it follows as it moves (retested on each new tip); null for a base that is a commit or a patch. */
  trunk: string | null;
  flags: string[];
  by: string;
  submittedAt: string;
  closedAt: string | null;
  versions: PatchVersion[];
  brokenBy: BrokenByTrunk | null;
}

/** A patch as `keel patches` lists it: the record without its versions' applications, with the latest application. */
export interface PatchSummary extends Omit<PatchRecord, 'versions'> {
  versions: number;
  files: string[];
  latest: PatchApplication | null;
}
