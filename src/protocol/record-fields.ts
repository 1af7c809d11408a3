// Readers for the records that travel inside messages and live in the
// dispatcher's journal and snapshot: a RunOutcome, a BuildRecord and its
// parts, a summary (observer commands: command-fields.ts). The wire and the journal check them with the same code,
// so a number the journal cannot hold (1e400, a fraction where a count
// belongs) is refused the same way in both. Sizes are generous here: records
// written by an older Keel must stay readable; the stricter limits apply
// where records are made.

import { ERROR_CODES, type ErrorCode } from './error-codes.js';
import { bool, checked, int, list, nullable, object, oneOf, stringRecord, text, type Fields } from './fields.js';
import { LIMITS } from './limits.js';
import {
  BUILD_STATUSES, LAND_STATES, OUTCOME_STATUSES, STARTED_STATES, SUBJECT_KINDS,
  type ArtifactFile, type ArtifactsKept, type AttemptRecord, type BuildRecord, type BuildStatus, type BuildSummary, type JobCondition, type JobRecord,
  type JobSpec, type JobSummary, type LandSummary, type RunOutcome, type RunnerSummary, type ScalingSummary, type SecretGrant, type Subject,
  type TestCounts,
} from './records.js';
import { isArtifactPath, isArtifactPattern, isCommitId, isCommitPrefix, isName, isRefName, isRepoUrl, isRequestId } from './validate.js';

const MAX_INT = Number.MAX_SAFE_INTEGER;
const ENV_NAME = new RegExp(`^[A-Za-z_][A-Za-z0-9_]{0,${LIMITS.envName - 1}}$`);
const ATTEMPT_STATUSES = [...OUTCOME_STATUSES, 'lost', 'cancelled', 'running'] as const;
/** Room for a job id, a colon and a job's message. */
const BUILD_MESSAGE = 2 * LIMITS.text;

export const commitId = (o: Fields, f: string) => checked(o, f, isCommitId, 'a full commit id (40 or 64 lower-case hex digits)');
export const refName = (o: Fields, f: string) => checked(o, f, isRefName, 'a full ref name that passes git check-ref-format');
export const repoUrl = (o: Fields, f: string) => checked(o, f, isRepoUrl, 'an absolute path or a file://, ssh://, git://, http(s):// or user@host:path URL');
export const plainName = (o: Fields, f: string) => checked(o, f, isName, `a name of letters, digits, ".", "_" or "-" (at most ${LIMITS.name})`);
export const requestId = (o: Fields, f: string) => checked(o, f, isRequestId, 'a request id such as L-17');
export const commitPrefix = (o: Fields, f: string) => checked(o, f, isCommitPrefix, 'a commit id or its start (7 to 64 lower-case hex digits)');
export const artifactPath = (o: Fields, f: string) => checked(o, f, isArtifactPath, 'a relative path of plain names (no "..", "." or empty part)');
export const artifactPattern = (o: Fields, f: string) => checked(o, f, isArtifactPattern, 'a relative path or pattern of plain names (no "..", "." or empty part)');

function artifactFile(o: Fields, f: string): ArtifactFile {
  const a = object(o, f);
  return { path: artifactPath(a, 'path'), bytes: count(a, 'bytes') };
}

const note = (o: Fields, f: string) => text(o, f, LIMITS.text);

export function artifactsKept(o: Fields, f: string): ArtifactsKept {
  const a = object(o, f);
  return {
    dir: nullable(a, 'dir', (x, k) => text(x, k, LIMITS.printable)),
    files: list(a, 'files', LIMITS.artifactFiles, artifactFile),
    notes: list(a, 'notes', LIMITS.artifactNotes, note),
  };
}
export const time = (o: Fields, f: string) => text(o, f, 64);
export const count = (o: Fields, f: string) => int(o, f, 0, MAX_INT);
/** A difference of two clock readings: a clock stepped back makes it negative. */
const span = (o: Fields, f: string) => int(o, f, -MAX_INT, MAX_INT);
const exitCode = (o: Fields, f: string) => int(o, f, -255, 255);
const signal = (o: Fields, f: string) => text(o, f, 32);
const message = (o: Fields, f: string) => text(o, f, LIMITS.text);
export const errorCode = (o: Fields, f: string) => checked(o, f, (v) => (ERROR_CODES as readonly string[]).includes(v), 'an error code from docs/protocol.md') as ErrorCode;

/** Who asked, as the dispatcher names an admin: `admin alice`. */
export const asker = (o: Fields, f: string) => text(o, f, LIMITS.printable + 32);

const LAND_ATTEMPT_STATUSES = BUILD_STATUSES;

export function landSummary(o: Fields, f: string): LandSummary {
  const l = object(o, f);
  return {
    id: requestId(l, 'id'), kind: oneOf(l, 'kind', ['land', 'try'] as const), project: nullable(l, 'project', plainName),
    branch: refName(l, 'branch'), head: commitId(l, 'head'), target: refName(l, 'target'),
    priority: int(l, 'priority', -LIMITS.priority, LIMITS.priority), squash: bool(l, 'squash'),
    state: oneOf(l, 'state', LAND_STATES), message: text(l, 'message', LIMITS.text), by: asker(l, 'by'),
    queuedAt: time(l, 'queuedAt'), endedAt: nullable(l, 'endedAt', time), flaky: bool(l, 'flaky'),
    landedAs: nullable(l, 'landedAs', commitId),
    builds: list(l, 'builds', 1000, (x, k) => {
      const b = object(x, k);
      return { batch: requestId(b, 'batch'), commit: commitId(b, 'commit'), base: commitId(b, 'base'), status: oneOf(b, 'status', LAND_ATTEMPT_STATUSES) };
    }),
  };
}

export function counts(o: Fields, f: string): TestCounts {
  const c = object(o, f);
  return { tests: count(c, 'tests'), passed: count(c, 'passed'), failed: count(c, 'failed'), skipped: count(c, 'skipped') };
}

export function subject(o: Fields, f: string): Subject {
  const s = object(o, f);
  return {
    kind: oneOf(s, 'kind', SUBJECT_KINDS), base: nullable(s, 'base', commitId), request: nullable(s, 'request', requestId),
    // Records written before batches held several requests have none.
    requests: s.requests === undefined ? [] : list(s, 'requests', LIMITS.batchRequests, requestId),
  };
}

export function outcome(o: Fields, f: string): RunOutcome {
  const r = object(o, f);
  return {
    status: oneOf(r, 'status', OUTCOME_STATUSES),
    exitCode: nullable(r, 'exitCode', exitCode),
    signal: nullable(r, 'signal', signal),
    timedOut: bool(r, 'timedOut'),
    startedAt: time(r, 'startedAt'),
    durationMs: count(r, 'durationMs'),
    command: list(r, 'command', LIMITS.commandItems, (x, k) => text(x, k, LIMITS.text)),
    message: message(r, 'message'),
    counts: nullable(r, 'counts', counts),
    infra: bool(r, 'infra'),
    // Absent from outcomes an older Keel wrote (a journal, a runner's spool): they were never cancelled ones.
    cancelled: r.cancelled === undefined ? false : bool(r, 'cancelled'),
    failedTests: list(r, 'failedTests', LIMITS.failedTests, (x, k) => text(x, k, LIMITS.failedTestChars)),
    junit: nullable(r, 'junit', (x, k) => text(x, k, LIMITS.junitChars)),
    // Absent from outcomes of an older Keel and of jobs without artifacts.
    ...(r.artifacts === undefined ? {} : { artifacts: list(r, 'artifacts', LIMITS.artifactFiles, artifactFile) }),
    ...(r.artifactNotes === undefined ? {} : { artifactNotes: list(r, 'artifactNotes', LIMITS.artifactNotes, note) }),
    ...(r.generated === undefined ? {} : { generated: text(r, 'generated', LIMITS.keelJsonBytes) }),
  };
}

const pattern = (o: Fields, f: string) => text(o, f, LIMITS.whenPatternChars);
const patterns = (o: Fields, f: string) => list(o, f, LIMITS.whenPatterns, pattern);

function condition(o: Fields, f: string): JobCondition {
  const c = object(o, f);
  return {
    ...(c.branches === undefined ? {} : { branches: patterns(c, 'branches') }),
    ...(c.subjects === undefined ? {} : { subjects: list(c, 'subjects', SUBJECT_KINDS.length, (x, k) => oneOf(x, k, SUBJECT_KINDS)) }),
    ...(c.paths === undefined ? {} : { paths: patterns(c, 'paths') }),
  };
}

const secretNames = (o: Fields, f: string) => list(o, f, LIMITS.jobSecrets, (x, k) => checked(x, k, (v) => ENV_NAME.test(v), 'a variable name'));

export function secretGrant(o: Fields, f: string): SecretGrant {
  const g = object(o, f);
  return { granted: secretNames(g, 'granted'), withheld: secretNames(g, 'withheld'), reason: text(g, 'reason', LIMITS.text) };
}

export function jobSpec(o: Fields, f: string): JobSpec {
  const s = object(o, f);
  return {
    id: plainName(s, 'id'),
    title: text(s, 'title', LIMITS.text),
    run: nullable(s, 'run', (x, k) => list(x, k, LIMITS.runArgs, (y, j) => text(y, j, LIMITS.text))),
    env: stringRecord(s, 'env', ENV_NAME, 10 * LIMITS.envVariables, LIMITS.text),
    timeoutMs: nullable(s, 'timeoutMs', count),
    retries: int(s, 'retries', 0, 100),
    retryDelayMs: count(s, 'retryDelayMs'),
    labels: list(s, 'labels', LIMITS.labels, plainName),
    junit: nullable(s, 'junit', (x, k) => text(x, k, LIMITS.junitPath)),
    ...(s.artifacts === undefined ? {} : { artifacts: list(s, 'artifacts', LIMITS.artifactPatterns, artifactPattern) }),
    // Absent in specs written before conditions, secrets and generators.
    ...(s.when === undefined ? {} : { when: condition(s, 'when') }),
    ...(s.secrets === undefined ? {} : { secrets: secretNames(s, 'secrets') }),
    ...(s.generator === undefined ? {} : { generator: bool(s, 'generator') }),
    ...(s.generated === undefined ? {} : { generated: bool(s, 'generated') }),
  };
}

function attemptRecord(o: Fields, f: string): AttemptRecord {
  const a = object(o, f);
  return {
    attempt: int(a, 'attempt', 1, MAX_INT),
    ...(a.run === undefined ? {} : { run: int(a, 'run', 1, MAX_INT) }),
    lease: text(a, 'lease', LIMITS.leaseChars),
    runner: plainName(a, 'runner'),
    status: oneOf(a, 'status', ATTEMPT_STATUSES),
    startedAt: time(a, 'startedAt'),
    endedAt: nullable(a, 'endedAt', time),
    durationMs: nullable(a, 'durationMs', span),
    exitCode: nullable(a, 'exitCode', exitCode),
    signal: nullable(a, 'signal', signal),
    timedOut: bool(a, 'timedOut'),
    infra: bool(a, 'infra'),
    message: message(a, 'message'),
  };
}

function jobRecord(o: Fields, f: string): JobRecord {
  const j = object(o, f);
  return {
    name: plainName(j, 'name'),
    spec: jobSpec(j, 'spec'),
    status: oneOf(j, 'status', BUILD_STATUSES),
    flaky: bool(j, 'flaky'),
    attempts: list(j, 'attempts', 100_000, attemptRecord),
    runner: nullable(j, 'runner', plainName),
    startedAt: nullable(j, 'startedAt', time),
    endedAt: nullable(j, 'endedAt', time),
    durationMs: nullable(j, 'durationMs', span),
    exitCode: nullable(j, 'exitCode', exitCode),
    signal: nullable(j, 'signal', signal),
    timedOut: bool(j, 'timedOut'),
    counts: nullable(j, 'counts', counts),
    command: list(j, 'command', LIMITS.commandItems, (x, k) => text(x, k, LIMITS.text)),
    message: text(j, 'message', BUILD_MESSAGE),
    log: text(j, 'log', LIMITS.printable),
    junit: nullable(j, 'junit', (x, k) => text(x, k, LIMITS.printable)),
    failedTests: list(j, 'failedTests', LIMITS.failedTests, (x, k) => text(x, k, LIMITS.failedTestChars)),
    notBefore: nullable(j, 'notBefore', time),
    ...(j.artifacts === undefined ? {} : { artifacts: artifactsKept(j, 'artifacts') }),
    ...(j.secrets === undefined ? {} : { secrets: secretGrant(j, 'secrets') }),
  };
}

/**
 * A BuildRecord, checked field by field. Records written before builds had
 * a subject and a run number are read as pushes in their first run.
 */
export function buildRecord(o: Fields, f: string): BuildRecord {
  const b = object(o, f);
  return {
    commit: commitId(b, 'commit'),
    repo: repoUrl(b, 'repo'),
    ref: refName(b, 'ref'),
    project: nullable(b, 'project', plainName),
    subject: b.subject === undefined ? { kind: 'push', base: null, request: null, requests: [] } : subject(b, 'subject'),
    run: b.run === undefined ? 1 : int(b, 'run', 1, MAX_INT),
    background: b.background === undefined ? false : bool(b, 'background'),
    status: oneOf(b, 'status', BUILD_STATUSES),
    flaky: bool(b, 'flaky'),
    message: text(b, 'message', BUILD_MESSAGE),
    runner: nullable(b, 'runner', plainName),
    attempts: count(b, 'attempts'),
    queuedAt: time(b, 'queuedAt'),
    startedAt: nullable(b, 'startedAt', time),
    endedAt: nullable(b, 'endedAt', time),
    durationMs: nullable(b, 'durationMs', span),
    counts: nullable(b, 'counts', counts),
    jobs: list(b, 'jobs', 10 * LIMITS.jobsPerBuild, jobRecord),
  };
}

function jobCounts(o: Fields, f: string): Partial<Record<BuildStatus, number>> {
  const c = object(o, f);
  const known: Partial<Record<BuildStatus, number>> = {};
  for (const key of Object.keys(c)) {
    const status = oneOf({ [`${f}.${key}`]: key }, `${f}.${key}`, BUILD_STATUSES);
    known[status] = count(c, key);
  }
  return known;
}

export function buildSummary(o: Fields, f: string): BuildSummary {
  const b = object(o, f);
  return {
    commit: commitId(b, 'commit'),
    project: nullable(b, 'project', plainName),
    ref: refName(b, 'ref'),
    subject: subject(b, 'subject'),
    run: int(b, 'run', 1, MAX_INT),
    status: oneOf(b, 'status', BUILD_STATUSES),
    flaky: bool(b, 'flaky'),
    note: text(b, 'note', LIMITS.printable),
    queuedAt: time(b, 'queuedAt'),
    startedAt: nullable(b, 'startedAt', time),
    endedAt: nullable(b, 'endedAt', time),
    durationMs: nullable(b, 'durationMs', span),
    counts: nullable(b, 'counts', counts),
    jobs: jobCounts(b, 'jobs'),
    runners: list(b, 'runners', 16, plainName),
    unwritten: bool(b, 'unwritten'),
  };
}

export function jobSummary(o: Fields, f: string): JobSummary {
  const j = object(o, f);
  return {
    name: plainName(j, 'name'),
    title: text(j, 'title', LIMITS.printable),
    status: oneOf(j, 'status', BUILD_STATUSES),
    flaky: bool(j, 'flaky'),
    counts: nullable(j, 'counts', counts),
    durationMs: nullable(j, 'durationMs', span),
    note: text(j, 'note', LIMITS.printable),
  };
}

export function runnerSummary(o: Fields, f: string): RunnerSummary {
  const r = object(o, f);
  return {
    name: plainName(r, 'name'),
    slots: int(r, 'slots', 1, LIMITS.slots),
    labels: list(r, 'labels', LIMITS.labels, plainName),
    busy: int(r, 'busy', 0, LIMITS.slots),
    running: list(r, 'running', LIMITS.slots, commitId),
    draining: bool(r, 'draining'),
    paused: bool(r, 'paused'),
    unhealthy: nullable(r, 'unhealthy', (x, k) => text(x, k, LIMITS.text)),
  };
}

function startedRunner(o: Fields, f: string): ScalingSummary['started'][number] {
  const r = object(o, f);
  return {
    name: plainName(r, 'name'), labels: list(r, 'labels', LIMITS.labels, plainName), state: oneOf(r, 'state', STARTED_STATES),
    reason: text(r, 'reason', LIMITS.text), since: time(r, 'since'),
  };
}

export function scalingSummary(o: Fields, f: string): ScalingSummary {
  const s = object(o, f);
  return {
    started: list(s, 'started', LIMITS.overviewRunners, startedRunner), failures: count(s, 'failures'),
    lastFailure: text(s, 'lastFailure', LIMITS.text), backoffUntil: nullable(s, 'backoffUntil', time),
  };
}
