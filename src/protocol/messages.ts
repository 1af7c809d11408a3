// Every message of protocol version 1. One JSON object per line; `type`
// tells them apart. docs/protocol.md describes who sends each and the replies.

import type { ErrorCode } from './error-codes.js';
import { LIMITS } from './limits.js';
import type { BuildRecord, BuildSummary, JobSummary, LandSummary, RunOutcome, RunnerSummary, ScalingSummary, SubjectKind } from './records.js';
import type { PatchRecord, PatchState, PatchSummary } from './patch-records.js';

export const PROTOCOL_VERSION = 1;

export const ROLES = ['runner', 'observer', 'client', 'admin', 'submitter'] as const;
export type Role = (typeof ROLES)[number];

export const STREAMS = ['stdout', 'stderr'] as const;
export type Stream = (typeof STREAMS)[number];

/** The largest `data` a runner puts in one `output` message (before JSON escaping). */
export const MAX_OUTPUT_CHUNK = LIMITS.outputChunk;

// Handshake, both directions.
export interface Hello { type: 'hello'; version: number; role: Role; name: string }
export interface Welcome { type: 'welcome'; version: number; heartbeatMs: number; deadlineMs: number }
/** Sent instead of `welcome` when the dispatcher requires a secret. */
export interface Challenge { type: 'challenge'; nonce: string }
/** `proof`: hex HMAC-SHA256 over the nonce, role and name with the peer's key. */
export interface Auth { type: 'auth'; proof: string }
export interface ErrorMessage { type: 'error'; code: ErrorCode; message: string }

// Runner <-> dispatcher.
/** `leases`: jobs this runner still holds from before a reconnect (running, or finished and not yet recorded). */
export interface Register { type: 'register'; name: string; slots: number; labels: string[]; leases: string[] }
export interface Registered { type: 'registered'; name: string }
export interface Ping { type: 'ping'; seq: number }
export interface Pong { type: 'pong'; seq: number }
export interface Job {
  type: 'job';
  lease: string;
  attempt: number;
  job: string;
  commit: string;
  repo: string;
  ref: string;
  timeoutMs: number | null;
  /** For people: the job's title. */
  title: string;
  /** argv to run; null runs the default detection of tests/. */
  run: string[] | null;
  /** Added to the test's clean environment. */
  env: Record<string, string>;
  /** Relative path of JUnit XML the job writes, to send back. */
  junit: string | null;
  /** Files to send back after the job, by path or pattern; empty: none. */
  artifacts: string[];
  /** At most this many bytes of them (the build's --max-artifact-mib). */
  artifactBytes: number;
  /** The build it belongs to, its subject's kind and base (KEEL_BUILD_ID, KEEL_SUBJECT, KEEL_BASE). Absent from an older dispatcher. */
  build?: string;
  subject?: SubjectKind;
  base?: string | null;
  /** Run it as the build's generator: its stdout comes back in the outcome's `generated`. */
  generate?: boolean;
  /** Secret name → value for this attempt alone: put in its environment and masked in its output; never stored. */
  secrets?: Record<string, string>;
}
/** Dispatcher -> runner: stop this job now (it was cancelled); no result is expected. */
export interface Abort { type: 'abort'; lease: string }
export interface Output { type: 'output'; lease: string; stream: Stream; data: string }
export interface Result { type: 'result'; lease: string; outcome: RunOutcome }
/**
 * Runner -> dispatcher, before the `result` of the lease: a piece of one of
 * the job's artifact files, `data` base64 of at most LIMITS.artifactChunk
 * bytes at `offset` of the file's `size`. Offset 0 starts the file over
 * (the runner sends every file again after a reconnect). Unanswered.
 */
export interface Artifact { type: 'artifact'; lease: string; path: string; size: number; offset: number; data: string }
export interface Recorded { type: 'recorded'; lease: string; accepted: boolean }
/** The runner is shutting down: give it no more jobs. */
export interface Drain { type: 'drain' }

// Observer <-> dispatcher.
/**
 * The observer's registration, before anything else: the project it speaks
 * for (null: the default project) and what runners fetch from. One live
 * observer per project; `supersede` makes a new commit skip queued builds of
 * older commits on the same ref. Answered by `observing`.
 */
export interface Observe { type: 'observe'; project: string | null; repo: string; supersede: boolean }
export interface Observing { type: 'observing'; project: string | null }
/** A commit new on a branch of the observer's project. */
export interface Commit { type: 'commit'; commit: string; ref: string }
export interface Queued { type: 'queued'; commit: string; duplicate: boolean }
/** Dispatcher -> observer: look for new commits now (someone ran `keel notify`). */
export interface Scan { type: 'scan' }

/** One branch a merge takes in: which request it is for, the branch, and who asked. */
export interface MergeStep { request: string; branch: string; by: string }
/** A branch a landing must find where it was merged from. */
export interface BranchHead { request: string; branch: string; commit: string }

/**
 * Git work the dispatcher asks of the observer of a project. Commands with
 * an id C-n are kept in its journal until answered and sent again after
 * every reconnect, so doing one twice must be harmless; Q-n are questions,
 * asked only of a connected observer and never kept.
 */
export type ObserverCommand =
  /** The commit a ref of origin points to now. */
  | { op: 'resolve'; ref: string }
  /** The commit a full or short id names in origin, and a branch of origin it is on. */
  | { op: 'locate'; commit: string }
  /** Where these refs of origin point now, and which branch origin's HEAD names. */
  | { op: 'inspect'; refs: string[] }
  /**
   * Merge each step's branch in turn onto `onto` (the merge of the batch
   * ahead in the queue) or, when it is null, the target's tip (`squash`: one
   * commit per step instead of a merge), the request recorded in each
   * commit's message, and push the last to refs/keel/land/<batch>.
   * `attempt` counts merges of the batch, so a merge again after the target
   * moved is a new one while a command sent twice is the same.
   */
  | { op: 'merge'; batch: string; kind: 'land' | 'try'; target: string; onto: string | null; steps: MergeStep[]; squash: boolean; attempt: number }
  /** Move `target` from `expect` to `commit`, only if it still points at `expect` and every branch where it was merged from. */
  | { op: 'land'; batch: string; target: string; expect: string; commit: string; heads: BranchHead[] }
  /** Delete these refs (refs/keel/...) from origin. */
  | { op: 'prune'; refs: string[] }
  /** Where a patch's base is: a branch, a commit id (7+ hex digits), or null for origin's default branch. */
  | { op: 'base'; spec: string | null }
  /** The trunk commits after `from` up to `to`, following first parents, oldest first. */
  | { op: 'range'; from: string; to: string }
  /**
   * Apply version `version` of a patch (its bytes read from the dispatcher
   * with `patch-read`, checked against `sha256`) onto `onto`, as application
   * `n`, and push the result to refs/keel/patches/<patch>/<version>.<n>;
   * also its test changes alone, when it changes tests and other files
   * (refs/keel/patches/<patch>/<version>.<n>-tests). A plain diff is
   * committed as `author` with `subject`.
   */
  | {
    op: 'apply'; patch: string; version: number; n: number; format: 'mbox' | 'diff'; onto: string;
    author: string | null; subject: string | null; bytes: number; sha256: string;
  };
export const COMMAND_OPS = ['resolve', 'locate', 'inspect', 'merge', 'land', 'prune', 'base', 'range', 'apply'] as const;

/** What a command found beyond `commit`: per op, and null when there is nothing more. */
export type CommandAnswer =
  /** `ref`: a branch of origin that has the commit located (its head first, then the default branch). */
  | { op: 'locate'; ref: string }
  | { op: 'inspect'; refs: Array<{ ref: string; commit: string | null }>; defaultBranch: string | null }
  /** `base`: the target's tip merged onto; `heads`: each branch as merged; `conflict`: the step that did not merge. */
  | { op: 'merge'; base: string | null; heads: BranchHead[]; conflict: { request: string; files: string[] } | null }
  /** `moved`: the requests whose branch is no longer where it was merged from. */
  | { op: 'land'; moved: string[] }
  /** `branch`: the branch the base names (null for a commit); `onDefault`: the commit is on origin's default branch, `defaultBranch`. */
  | { op: 'base'; commit: string; branch: string | null; defaultBranch: string | null; onDefault: boolean }
  /** `truncated`: there were more, and these are the newest. */
  | { op: 'range'; commits: string[]; truncated: boolean }
  /** `applied`: the commit made; `testsOnly`: the test changes alone; `conflict`: why it did not apply. */
  | { op: 'apply'; applied: string | null; testsOnly: string | null; conflict: { message: string; files: string[] } | null };
export const ANSWER_OPS = ['locate', 'inspect', 'merge', 'land', 'base', 'range', 'apply'] as const;

export interface CommandMessage { type: 'command'; id: string; command: ObserverCommand }
/** `commit`: the commit the work found or made (resolved, merged, landed, applied); null when there is none. */
export interface CommandResult {
  type: 'command-result'; id: string; ok: boolean; code: ErrorCode | null; message: string; commit: string | null; answer: CommandAnswer | null;
}
/**
 * Dispatcher -> observer: a build of its project finished. Kept in the
 * dispatcher's journal and sent again after every reconnect until the
 * observer answers `heard` with its `id`.
 */
export interface Finished { type: 'finished'; id: number; build: BuildSummary; jobs: JobSummary[] }
/** Observer -> dispatcher: it has taken `finished` `id` (and kept what it needs of it). */
export interface Heard { type: 'heard'; id: number }

// Client <-> dispatcher.
export interface Query { type: 'query'; commit: string | null; project: string | null }
/** Which commits of the builds the dispatcher knows (active, recent, with result files) start with `prefix`; answered by `commits`. */
export interface FindCommit { type: 'find-commit'; prefix: string; project: string | null }
/** At most LIMITS.commitMatches of them; `more` when there were others. */
export interface Commits { type: 'commits'; prefix: string; commits: string[]; more: boolean }
/** Asks every connected observer to scan now; answered by `notified`. */
export interface Notify { type: 'notify' }
export interface Notified { type: 'notified'; observers: number }

/**
 * Finished builds of one branch, newest first, from the dispatcher's index
 * (`keel status --branch`): at most `limit` (LIMITS.historyPage), those
 * before the cursor `before` (null: the newest; active builds of the branch
 * come first then). Answered by `history-page`.
 */
export interface History { type: 'history'; project: string | null; ref: string; limit: number; before: number | null }
/** `next`: the cursor for the page after this one; null when there is none. */
export interface HistoryPage { type: 'history-page'; builds: BuildSummary[]; next: number | null }

/**
 * `keel logs`: a build's log, every job's or one job's. The dispatcher sends
 * `log-progress` first, the log in `log` chunks (each job's bytes in order,
 * `offset` its byte offset in that job's log file), and `log-end`. With
 * `follow`, it keeps sending new output as it arrives, and a `log-progress`
 * whenever the build changes (and at least every FOLLOW_KEEPALIVE_MS), until
 * the jobs followed have ended.
 */
export interface Logs { type: 'logs'; commit: string; project: string | null; job: string | null; follow: boolean }
export interface LogChunk { type: 'log'; job: string; offset: number; data: string }
export interface LogProgress { type: 'log-progress'; build: BuildSummary }
export interface LogEnd { type: 'log-end'; build: BuildSummary }
/** A following client that hears nothing for a few of these may take the dispatcher for gone. */
export const FOLLOW_KEEPALIVE_MS = 15_000;

// Admin <-> dispatcher: the list of admins.
export const ADMIN_OPS = ['list', 'add', 'remove'] as const;
export type AdminOp = (typeof ADMIN_OPS)[number];
export interface Admins { type: 'admins'; op: AdminOp; name: string | null }
/** `token`: the new admin's secret after `add`, when the dispatcher has a secret. */
export interface AdminList { type: 'admin-list'; names: string[]; token: string | null }

// Admin -> dispatcher: stop a build, run it (or one job) again, or build a
// branch's head now. Answered by `done`: `ok`, and a `code` when it is not.
export interface Cancel { type: 'cancel'; commit: string; project: string | null }
export interface Retry { type: 'retry'; commit: string; project: string | null; job: string | null }
/** Exactly one of `ref` (build its head) and `commit` (a full or short id: build that commit, on a branch that has it). */
export interface Build { type: 'build'; ref: string | null; commit: string | null; project: string | null }
/**
 * Cancel every unfinished push build of the project on `ref` (null: any
 * branch), only those not started when `queued`; with `dryRun` nothing is
 * cancelled and the reply says what would be. Answered by `cancelled-many`.
 */
export interface CancelMany { type: 'cancel-many'; project: string | null; ref: string | null; queued: boolean; dryRun: boolean }
/** How many builds were (or would be) cancelled, and the first few commits. */
export interface CancelledMany { type: 'cancelled-many'; dryRun: boolean; count: number; commits: string[] }
/** Admin -> dispatcher: keel runner pause / resume. A paused runner finishes what it runs and takes nothing new. Answered by `done`. */
export interface Pause { type: 'pause'; runner: string; paused: boolean }
/** `request`: the id of the request it made or answers (L-17), when there is one. */
export interface Done { type: 'done'; ok: boolean; code: ErrorCode | null; message: string; request: string | null }

// The gate. An admin asks for a branch to land on a target (`land`: merged,
// tested, and the target moved to exactly the tested commit) or only to be
// tried (`try`); `wait` is answered with `done` once the request is over;
// anyone may read the land queue.
export interface Land {
  type: 'land'; branch: string; target: string | null; project: string | null;
  priority: number; squash: boolean; try: boolean;
}
export interface LandWait { type: 'land-wait'; request: string }
export interface LandCancel { type: 'land-cancel'; request: string }
export interface QueueQuery { type: 'queue' }
export interface LandQueue { type: 'land-queue'; requests: LandSummary[]; omitted: number }

// Patches. A submitter (or an admin) sends `patch` with the series' size and
// checksum, then its bytes in `patch-data` chunks; `done` names the patch
// (P-12) once it is on disk and in the journal. The observer reads a
// patch's bytes with `patch-read` to apply it.
export interface Patch {
  type: 'patch'; project: string | null; base: string | null; author: string | null; subject: string | null; bytes: number; sha256: string;
}
/** Base64 of at most LIMITS.patchChunk bytes. */
export interface PatchData { type: 'patch-data'; data: string }
export const PATCH_OPS = ['retest', 'close', 'flag', 'unflag'] as const;
export type PatchOp = (typeof PATCH_OPS)[number];
export interface PatchOpMessage { type: 'patch-op'; patch: string; op: PatchOp; flag: string | null }
/** Lists patches; every filter given must hold. `project` is looked at only when `anyProject` is false. */
export interface PatchesQuery {
  type: 'patches'; project: string | null; anyProject: boolean; state: PatchState | null; flags: string[];
  touchesNone: string[]; brokenByTrunk: boolean; sinceMs: number | null;
}
export interface PatchList { type: 'patch-list'; patches: PatchSummary[]; omitted: number }
export interface PatchShow { type: 'patch-show'; patch: string }
/** `note`: what was left out of the record to fit one line. */
export interface PatchRecordMessage { type: 'patch-record'; record: PatchRecord | null; note: string }
export interface PatchRead { type: 'patch-read'; patch: string; version: number; offset: number }
/** Base64 of the bytes from `offset`; `end`: nothing follows. */
export interface PatchBytes { type: 'patch-bytes'; patch: string; version: number; offset: number; data: string; end: boolean }

/**
 * The answer to `query`. The overview lists summaries, active builds first,
 * bounded in size: `omitted` builds and `runnersOmitted` runners did not fit.
 * For a query naming a commit, `record` is its whole BuildRecord (lease ids
 * removed), trimmed to fit one line with `note` saying what was left out.
 */
export interface Status {
  type: 'status';
  builds: BuildSummary[];
  omitted: number;
  runners: RunnerSummary[];
  runnersOmitted: number;
  queued: number;
  /** Commits of finished builds whose result files are not written yet (the first few); `unwrittenCount` in all. */
  unwritten: string[];
  unwrittenCount: number;
  record: BuildRecord | null;
  note: string;
  /** Runners started on demand (--runner-start), when the dispatcher starts any. */
  scaling?: ScalingSummary;
  /** The overview's "last build of main" at a glance: each branch's newest finished build, branches built most recently first. */
  heads?: BuildSummary[];
}

export type Message =
  | Hello | Welcome | Challenge | Auth | ErrorMessage
  | Register | Registered | Ping | Pong | Job | Abort | Output | Result | Artifact | Recorded | Drain
  | Observe | Observing | Commit | Queued | Scan | CommandMessage | CommandResult | Finished | Heard
  | Query | Status | Notify | Notified | FindCommit | Commits | History | HistoryPage | Logs | LogChunk | LogProgress | LogEnd
  | Admins | AdminList | Cancel | Retry | Build | Pause | CancelMany | CancelledMany | Done
  | Land | LandWait | LandCancel | QueueQuery | LandQueue
  | Patch | PatchData | PatchOpMessage | PatchesQuery | PatchList | PatchShow | PatchRecordMessage | PatchRead | PatchBytes;

export type MessageType = Message['type'];
export type MessageOf<T extends MessageType> = Extract<Message, { type: T }>;
