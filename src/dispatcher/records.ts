// What the dispatcher writes to its journal: one record per state change.
// The scheduler applies the same record live and when replaying, so a
// restarted dispatcher ends in the state the old one had.

import type { BuildRecord, RunOutcome } from '../protocol/records.js';

export type JournalRecord =
  | { op: 'commit'; commit: string; repo: string; ref: string; at: string }
  | { op: 'assign'; commit: string; job: string; lease: string; runner: string; at: string }
  | { op: 'lost'; lease: string; reason: string; at: string }
  | { op: 'result'; lease: string; outcome: RunOutcome; at: string }
  | { op: 'written'; commit: string };

/** The snapshot that replaces the journal's records when it is compacted. */
export interface SchedulerSnapshot {
  /** Active builds, and finished ones whose result files are not written yet. */
  builds: BuildRecord[];
  /** Queued jobs in queue order. */
  queue: Array<{ commit: string; job: string }>;
}
