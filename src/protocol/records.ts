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
  /** A generator's stdout (keel.json `generate`): the jobs it names, as JSON text. Absent for other jobs. */
  generated?: string;
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
  /** Run only when this holds; otherwise the job is skipped, with the reason. Absent: always. */
  when?: JobCondition;
  /** Names of the dispatcher's secrets the job asks for (given only to protected builds). */
  secrets?: string[];
  /** This job is keel.json's `generate`: its stdout names the build's further jobs. */
  generator?: boolean;
  /** A job the build's generator printed. */
  generated?: boolean;
}

/** keel.json's `when`: every part given must hold (branch globs, subject kinds, path globs of changed files). */
export interface JobCondition {
  branches?: string[];
  subjects?: SubjectKind[];
  paths?: string[];
}

/** The secrets a job asked for: the names it is given, and those withheld and why. */
export interface SecretGrant {
  granted: string[];
  withheld: string[];
  /** Why the withheld ones are, for the report; "" when none is. */
  reason: string;
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
  /** The secrets it asked for (spec.secrets): given or withheld. Absent when it asked for none. */
  secrets?: SecretGrant;
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
  /** What the build answers: a land or try batch (`B-4`), a patch series (`P-12`); null for a push. */
  request: string | null;
  /** The land or try requests a batch's merge holds (`L-17`, `L-18`); empty otherwise. */
  requests: string[];
}

export const PUSH: Subject = Object.freeze({ kind: 'push', base: null, request: null, requests: [] });

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
  /** Its jobs wait behind every ordinary build's (a patch's retest on a newer trunk). */
  background: boolean;
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

/**
 * One job of a finished build in a few bounded fields, for the `finished`
 * event: what a git note or a chat message says of each job.
 */
export interface JobSummary {
  /** The job's id (JobSpec.id). */
  name: string;
  /** For people: "unit (NODE=18, OS=linux)". */
  title: string;
  status: BuildStatus;
  flaky: boolean;
  counts: TestCounts | null;
  durationMs: number | null;
  /** Why it is not `passed`; clipped. */
  note: string;
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

/** A runner the dispatcher started on demand (--runner-start), and why. */
export interface StartedRunner {
  name: string;
  labels: string[];
  /** `starting`: the start command ran, the runner has not registered yet; `stopping`: idle, drained, stop command run. */
  state: 'starting' | 'running' | 'stopping';
  reason: string;
  since: string;
}

export const STARTED_STATES = ['starting', 'running', 'stopping'] as const;

/** What the dispatcher's on-demand runners are doing: those it started, and how starting went. */
export interface ScalingSummary {
  started: StartedRunner[];
  /** Starts that failed (the command failed, or its runner never registered) since the dispatcher started. */
  failures: number;
  lastFailure: string;
  /** No runner is started before this, after failures; null when not backing off. */
  backoffUntil: string | null;
}

/** Where a land or try request is. `passed`: a try whose merge passed (a try never lands). */
export const LAND_STATES = ['queued', 'merging', 'testing', 'landing', 'landed', 'passed', 'failed', 'conflict', 'cancelled', 'error'] as const;
export type LandState = (typeof LAND_STATES)[number];

/** One merge commit a request was tested in: its batch, what it was merged onto, and the verdict. */
export interface LandAttempt {
  batch: string;
  commit: string;
  base: string;
  status: BuildStatus;
}

/** A land or try request as `keel queue` and `keel status` show it. */
export interface LandSummary {
  id: string;
  kind: 'land' | 'try';
  project: string | null;
  branch: string;
  /** The branch's head it is tested with (it follows the branch while queued). */
  head: string;
  target: string;
  priority: number;
  squash: boolean;
  state: LandState;
  /** Why it is where it is: conflicting files, git's message, "landed as …". */
  message: string;
  by: string;
  queuedAt: string;
  endedAt: string | null;
  /** A job passed only when run again. */
  flaky: boolean;
  /** The commit the target was moved to. */
  landedAs: string | null;
  /** Every merge commit it was tested in, oldest first (the last few). */
  builds: LandAttempt[];
}
