// Every message of protocol version 1. One JSON object per line; `type`
// tells them apart. docs/protocol.md describes who sends each and the replies.

import type { ErrorCode } from './error-codes.js';
import { LIMITS } from './limits.js';
import type { BuildRecord, BuildSummary, RunOutcome, RunnerSummary } from './records.js';

export const PROTOCOL_VERSION = 1;

export const ROLES = ['runner', 'observer', 'client', 'admin'] as const;
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

/** Git work the dispatcher asks of the observer of a project; kept in its journal until answered. */
export type ObserverCommand =
  /** The commit a ref of origin points to now. */
  | { op: 'resolve'; ref: string }
  /** The commit a full or short id names in origin, and a branch of origin it is on. */
  | { op: 'locate'; commit: string };
export const COMMAND_OPS = ['resolve', 'locate'] as const;
/** Sent again after every reconnect until answered, so an observer must be able to do it twice. */
export interface CommandMessage { type: 'command'; id: string; command: ObserverCommand }
/**
 * `commit`: the commit the work found or made; null when there is none (or it
 * failed). `ref`: the branch it found it on (`locate`); null otherwise.
 */
export interface CommandResult { type: 'command-result'; id: string; ok: boolean; code: ErrorCode | null; message: string; commit: string | null; ref: string | null }
/** Dispatcher -> observer: a build of its project finished. */
export interface Finished { type: 'finished'; build: BuildSummary }

// Client <-> dispatcher.
export interface Query { type: 'query'; commit: string | null; project: string | null }
/** Which commits of the builds the dispatcher knows (active, recent, with result files) start with `prefix`; answered by `commits`. */
export interface FindCommit { type: 'find-commit'; prefix: string; project: string | null }
/** At most LIMITS.commitMatches of them; `more` when there were others. */
export interface Commits { type: 'commits'; prefix: string; commits: string[]; more: boolean }
/** Asks every connected observer to scan now; answered by `notified`. */
export interface Notify { type: 'notify' }
export interface Notified { type: 'notified'; observers: number }

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
export interface Done { type: 'done'; ok: boolean; code: ErrorCode | null; message: string }

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
}

export type Message =
  | Hello | Welcome | Challenge | Auth | ErrorMessage
  | Register | Registered | Ping | Pong | Job | Abort | Output | Result | Artifact | Recorded | Drain
  | Observe | Observing | Commit | Queued | Scan | CommandMessage | CommandResult | Finished
  | Query | Status | Notify | Notified | FindCommit | Commits
  | Admins | AdminList | Cancel | Retry | Build | Pause | CancelMany | CancelledMany | Done;

export type MessageType = Message['type'];
export type MessageOf<T extends MessageType> = Extract<Message, { type: T }>;
