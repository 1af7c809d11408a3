// Shapes shared by the wire (`status` replies, `result` messages) and the
// result files on disk (`test_results/<sha>.json`).

/** `skipped`: a newer commit on the same branch superseded it before it started. */
export const BUILD_STATUSES = ['queued', 'running', 'passed', 'failed', 'error', 'cancelled', 'skipped'] as const;
export type BuildStatus = (typeof BUILD_STATUSES)[number];

/** How one run of a test command ended, as the runner reports it. */
export const OUTCOME_STATUSES = ['passed', 'failed', 'error'] as const;
export type OutcomeStatus = (typeof OUTCOME_STATUSES)[number];

export interface TestCounts {
  tests: number;
  passed: number;
  failed: number;
  skipped: number;
}

/** One flat record for a test run: the same shape for pass, fail, timeout and spawn failure. */
export interface RunOutcome {
  status: OutcomeStatus;
  exitCode: number | null;
  signal: string | null;
  timedOut: boolean;
  startedAt: string;
  durationMs: number;
  /** The command that ran, for the report; empty when none could be chosen. */
  command: string[];
  /** Why it is `error` or `failed`, in a sentence; empty when passed. */
  message: string;
  counts: TestCounts | null;
  /** The failure was the runner's (fetch, checkout), not the tests': retried, never flaky. */
  infra: boolean;
  /** Stopped because the run was cancelled (an abort or a drain), not by its own end. */
  cancelled: boolean;
  /** Names of failed tests, from JUnit XML when there was some. */
  failedTests: string[];
  /** The JUnit XML the tests wrote, when the job declares it or the runner can ask for it. */
  junit: string | null;
  /** The files of the job's `artifacts` the runner sends (in `artifact` messages, before the result); absent: none. */
  artifacts?: ArtifactFile[];
  /** What the runner left out of them, and why (a symlink, a name it would not send, the size limit). */
  artifactNotes?: string[];
}

/** One file of a job's artifacts: its path inside the repository and its size. */
export interface ArtifactFile {
  path: string;
  bytes: number;
}

/** The artifacts the dispatcher kept of a job's last attempt. */
export interface ArtifactsKept {
  /** Beside the results: <sha>.<job>.artifacts, holding the files at their paths; null when none were kept. */
  dir: string | null;
  files: ArtifactFile[];
  /** What was left out, by the runner or the dispatcher, and why. */
  notes: string[];
}

/** One attempt at a job; `lost` means the runner died or went silent. */
export interface AttemptRecord {
  attempt: number;
  /** The build's run it belongs to (1, then one more per keel retry); absent in records from before runs were kept per attempt. */
  run?: number;
  lease: string;
  runner: string;
  status: OutcomeStatus | 'lost' | 'cancelled' | 'running';
  startedAt: string;
  endedAt: string | null;
  durationMs: number | null;
  exitCode: number | null;
  signal: string | null;
  timedOut: boolean;
  /** Failed for the runner's reasons (fetch, checkout); such attempts are retried, never flaky. */
  infra: boolean;
  message: string;
}

/** What a job runs: from keel.json, or the default `tests` job. */
export interface JobSpec {
  /** Unique within the build; file- and protocol-safe (a Name). */
  id: string;
  /** For people: "unit (NODE=18, OS=linux)". */
  title: string;
  /** argv; null runs the default detection of tests/. */
  run: string[] | null;
  env: Record<string, string>;
  timeoutMs: number | null;
  retries: number;
  retryDelayMs: number;
  labels: string[];
  /** Where the job writes JUnit XML, relative to the repository root. */
  junit: string | null;
  /** Files to send back after the job (keel.json `artifacts`): paths and patterns (*, **, ?); absent: none. */
  artifacts?: string[];
}

export interface JobRecord {
  /** The job's id (JobSpec.id). */
  name: string;
  spec: JobSpec;
  status: BuildStatus;
  /** Passed only after failing at least once. */
  flaky: boolean;
  attempts: AttemptRecord[];
  runner: string | null;
  startedAt: string | null;
  endedAt: string | null;
  durationMs: number | null;
  exitCode: number | null;
  signal: string | null;
  timedOut: boolean;
  counts: TestCounts | null;
  command: string[];
  message: string;
  /** File names beside <sha>.json: the output, and the JUnit XML when there was some. */
  log: string;
  junit: string | null;
  failedTests: string[];
  /** When a retry may start (after a failure, with retryDelay); null when not waiting. */
  notBefore: string | null;
  /** The artifacts of its last attempt, when it declares any. */
  artifacts?: ArtifactsKept;
}

/**
 * Why a commit is built. `push`: it was seen on a branch. `try` and `land`:
 * a merge Keel made of a branch into a target (tested; landed only for
 * `land`). `patch`: a series Keel applied. The same commit may be built for
 * two subjects: a land's merge commit and a push of it ask different things.
 */
export const SUBJECT_KINDS = ['push', 'try', 'land', 'patch'] as const;
export type SubjectKind = (typeof SUBJECT_KINDS)[number];

export interface Subject {
  kind: SubjectKind;
  /** What the change is tested on: the target's tip (try, land), the patch's base; null for a push. */
  base: string | null;
  /** The request the build answers (`L-17`, `P-12`); null for a push. */
  request: string | null;
}

export const PUSH: Subject = Object.freeze({ kind: 'push', base: null, request: null });

/** The whole record of one commit's build: the content of `<sha>.json`. */
export interface BuildRecord {
  commit: string;
  repo: string;
  ref: string;
  /** The observer's --project; null keeps results directly in the results folder. */
  project: string | null;
  subject: Subject;
  /** 1 for the first run, one more for each `keel retry`. */
  run: number;
  status: BuildStatus;
  /** Some job passed only on a retry. */
  flaky: boolean;
  message: string;
  runner: string | null;
  attempts: number;
  queuedAt: string;
  startedAt: string | null;
  endedAt: string | null;
  durationMs: number | null;
  counts: TestCounts | null;
  jobs: JobRecord[];
}

/** A build in a few fields, for overviews and events: bounded whatever the build holds. */
export interface BuildSummary {
  commit: string;
  project: string | null;
  ref: string;
  subject: Subject;
  run: number;
  status: BuildStatus;
  flaky: boolean;
  /** Why it is not `passed`, or why it waits; clipped. */
  note: string;
  queuedAt: string;
  startedAt: string | null;
  endedAt: string | null;
  durationMs: number | null;
  counts: TestCounts | null;
  /** How many of its jobs are in each status. */
  jobs: Partial<Record<BuildStatus, number>>;
  /** The runners its jobs ran on, at most a few. */
  runners: string[];
  /** The result files are not written yet (a slow or full disk). */
  unwritten: boolean;
}

export interface RunnerSummary {
  name: string;
  slots: number;
  labels: string[];
  /** Jobs it runs now. */
  busy: number;
  /** The commits of those jobs, at most a few. */
  running: string[];
  draining: boolean;
  /** An admin paused it: it takes no new job. */
  paused: boolean;
  /** Why it gets no jobs for a while (infrastructure failures in a row), and until when; null when healthy. */
  unhealthy: string | null;
}
