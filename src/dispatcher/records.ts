// What the dispatcher writes to its journal: one record per state change.
// The scheduler applies the same record live and when replaying, so a
// restarted dispatcher ends in the state the old one had.

import type { BuildRecord, JobSpec, RunOutcome } from '../protocol/records.js';

/** Builds are known by project and commit: `<project>/<sha>`, or `<sha>` without a project. */
export type BuildKey = string;

export function buildKey(project: string | null, commit: string): BuildKey {
  return project === null ? commit : `${project}/${commit}`;
}

export type JournalRecord =
  | {
    op: 'commit'; commit: string; repo: string; ref: string; project: string | null;
    supersede: boolean; jobs: JobSpec[]; error: string | null; at: string;
  }
  | { op: 'assign'; key: BuildKey; job: string; lease: string; runner: string; at: string }
  | { op: 'lost'; lease: string; reason: string; at: string }
  /** The outcome without its JUnit XML, which is kept in `junitFile` beside the results. */
  | { op: 'result'; lease: string; outcome: RunOutcome; junitFile: string | null; at: string }
  | { op: 'cancel'; key: BuildKey; by: string; at: string }
  | { op: 'retry'; build: BuildRecord; job: string | null; by: string; at: string }
  | { op: 'written'; key: BuildKey };

/** The snapshot that replaces the journal's records when it is compacted. */
export interface SchedulerSnapshot {
  /** Active builds, and finished ones whose result files are not written yet. */
  builds: BuildRecord[];
  /** Queued jobs in queue order. */
  queue: Array<{ key: BuildKey; job: string }>;
}
