// What the dispatcher writes to its journal: one record per state change.
// The reducer (reducer.ts) applies the same record live and when replaying,
// so a restarted dispatcher ends in the state the old one had.

import type { ObserverCommand } from '../protocol/messages.js';
import type { ErrorCode } from '../protocol/error-codes.js';
import type { ArtifactsKept, BuildRecord, JobSpec, RunOutcome, Subject } from '../protocol/records.js';
import type { Batch, GateCounts, LandRequest } from './gate/types.js';
import type { PatchCounts, PatchEntry } from './patches/types.js';
import type { Generated } from './generated-jobs.js';
import type { JobDecisions } from './job-decisions.js';

/**
 * Builds are known by project, subject and commit. A push is `<sha>` or
 * `<project>/<sha>`, as before builds had subjects, so old journals keep
 * their keys; any other subject adds `<kind>/<request>/`.
 */
export type BuildKey = string;

export function buildKey(project: string | null, subject: Pick<Subject, 'kind' | 'request'>, commit: string): BuildKey {
  const scope = subject.kind === 'push' ? '' : `${subject.kind}/${subject.request ?? '-'}/`;
  return `${project === null ? '' : `${project}/`}${scope}${commit}`;
}

export const keyOf = (build: BuildRecord): BuildKey => buildKey(build.project, build.subject, build.commit);

export type JournalRecord =
  | {
    op: 'commit'; commit: string; repo: string; ref: string; project: string | null;
    /** Absent in records written before builds had subjects: a push. */
    subject?: Subject;
    supersede: boolean; jobs: JobSpec[]; error: string | null; at: string;
    /** Queued behind ordinary builds (a patch's retest). Absent in older records: false. */
    background?: boolean;
    /** Jobs skipped by `when`, and secrets given or withheld (names only); absent: nothing was decided. */
    decisions?: JobDecisions;
  }
  | { op: 'assign'; key: BuildKey; job: string; lease: string; runner: string; at: string }
  | { op: 'lost'; lease: string; reason: string; at: string }
  /**
   * The outcome without its JUnit XML, which is kept in `junitFile` beside the
   * results, and without its list of artifacts: `artifacts` says which were
   * kept (absent in records from before artifacts, and for jobs without any).
   */
  | {
    op: 'result'; lease: string; outcome: RunOutcome; junitFile: string | null; artifacts?: ArtifactsKept | null; at: string;
    /** A generator's result: the jobs it printed (read and decided), or why there are none. */
    generated?: Generated;
  }
  | { op: 'cancel'; key: BuildKey; by: string; at: string }
  /** `build`: the finished build as it was, from memory or its result file; `jobs` (when given) the jobs to run again. */
  | { op: 'retry'; build: BuildRecord; job: string | null; jobs?: string[]; by: string; at: string }
  /** The result files of run `run` are on disk. Absent `run` (older records): whatever run is current. */
  | { op: 'written'; key: BuildKey; run?: number }
  /** Git work asked of the observer of `project`, until `command-done`. */
  | { op: 'command'; id: string; project: string | null; command: ObserverCommand; by: string; at: string }
  | { op: 'command-done'; id: string; ok: boolean; code: ErrorCode | null; message: string; commit: string | null; at: string }
  /** The gate's requests and batches this change touched, as they are now (see gate/plan.ts). */
  | { op: 'gate'; requests: LandRequest[]; batches: Batch[]; counts: GateCounts; at: string }
  /** The patches this change touched, as they are now (see patches/plan.ts). */
  | { op: 'patch'; patches: PatchEntry[]; counts: PatchCounts; at: string }
  /** Outbox items (outbox.ts) that are done: a status the forge took (or refused), an event an observer heard, a hook run. */
  | { op: 'delivered'; ids: number[] }
  /** keel runner pause / resume: the runner of that name takes no new job while paused, whenever it connects. */
  | { op: 'pause'; runner: string; paused: boolean; by: string; at: string };


export type RecordOp = JournalRecord['op'];
