// encode() and decode() for one line of protocol version 1. decode() checks
// every field, so the rest of Keel only ever sees well-formed, typed messages.

import { ErrorCode } from './error-codes.js';
import { ProtocolError, describeValue } from './errors.js';
import { bool, checked, int, list, nullable, oneOf, stringRecord, text, type Fields } from './fields.js';
import { LIMITS } from './limits.js';
import { ADMIN_OPS, PATCH_OPS, ROLES, STREAMS, type Message, type MessageType } from './messages.js';
import { author, baseSpec, chunk, patchPath, patchRecord, patchSummary, sha256, subject } from './patch-fields.js';
import { PATCH_STATES } from './patch-records.js';
import { artifactPath, artifactPattern, buildRecord, buildSummary, commitId as commit, commitPrefix, count, errorCode, jobSummary, landSummary, outcome, plainName as name, refName as ref, repoUrl as repo, requestId, runnerSummary, scalingSummary } from './record-fields.js';
import { command, commandAnswer } from './command-fields.js';
import { SUBJECT_KINDS } from './records.js';

// ignoreBOM keeps a byte-order mark in the text, so JSON.parse refuses it as it
// would the same line given as a string.
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const MAX_INT = Number.MAX_SAFE_INTEGER;
export const ENV_NAME = new RegExp(`^[A-Za-z_][A-Za-z0-9_]{0,${LIMITS.envName - 1}}$`);
export const LEASE = new RegExp(`^[A-Za-z0-9_-]{1,${LIMITS.leaseChars}}$`);
/** Single-line text a person reads: no control characters. */
// eslint-disable-next-line no-control-regex
export const isPrintable = (v: string) => v.length <= LIMITS.printable && !/[\u0000-\u001f\u007f]/.test(v);

export function encode(message: Message): string {
  return `${JSON.stringify(message)}\n`;
}

const lease = (o: Fields, f: string) => checked(o, f, (v) => LEASE.test(v), 'a lease id');
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const BASE64_CHUNK = Math.ceil(LIMITS.artifactChunk / 3) * 4;
const printable = (o: Fields, f: string) => checked(o, f, isPrintable, `printable text of at most ${LIMITS.printable} characters`);

const readers: { [T in MessageType]: (o: Fields) => Omit<Extract<Message, { type: T }>, 'type'> } = {
  hello: (o) => ({ version: int(o, 'version', 0, MAX_INT), role: oneOf(o, 'role', ROLES), name: printable(o, 'name') }),
  welcome: (o) => ({ version: int(o, 'version', 0, MAX_INT), heartbeatMs: count(o, 'heartbeatMs'), deadlineMs: count(o, 'deadlineMs') }),
  challenge: (o) => ({ nonce: checked(o, 'nonce', (v) => /^[A-Za-z0-9_-]{16,128}$/.test(v), 'a nonce of 16-128 base64url characters') }),
  auth: (o) => ({ proof: checked(o, 'proof', (v) => /^[0-9a-f]{64}$/.test(v), 'an HMAC-SHA256 in 64 hex digits') }),
  error: (o) => ({ code: errorCode(o, 'code'), message: text(o, 'message', LIMITS.text) }),
  register: (o) => ({
    name: name(o, 'name'),
    slots: int(o, 'slots', 1, LIMITS.slots),
    labels: list(o, 'labels', LIMITS.labels, name),
    leases: list(o, 'leases', LIMITS.heldLeases, lease),
  }),
  registered: (o) => ({ name: name(o, 'name') }),
  ping: (o) => ({ seq: count(o, 'seq') }),
  pong: (o) => ({ seq: count(o, 'seq') }),
  job: (o) => ({
    lease: lease(o, 'lease'),
    attempt: int(o, 'attempt', 1, LIMITS.attempts),
    job: name(o, 'job'),
    commit: commit(o, 'commit'),
    repo: repo(o, 'repo'),
    ref: ref(o, 'ref'),
    timeoutMs: nullable(o, 'timeoutMs', count),
    title: printable(o, 'title'),
    run: nullable(o, 'run', (x, k) => list(x, k, LIMITS.runArgs, (y, j) => text(y, j, LIMITS.text))),
    env: stringRecord(o, 'env', ENV_NAME, LIMITS.envVariables, LIMITS.text),
    junit: nullable(o, 'junit', (x, k) => text(x, k, LIMITS.junitPath)),
    artifacts: list(o, 'artifacts', LIMITS.artifactPatterns, artifactPattern),
    artifactBytes: count(o, 'artifactBytes'),
    // Absent from an older dispatcher's jobs.
    ...(o.build === undefined ? {} : { build: text(o, 'build', 2 * LIMITS.printable) }),
    ...(o.subject === undefined ? {} : { subject: oneOf(o, 'subject', SUBJECT_KINDS) }),
    ...(o.base === undefined ? {} : { base: nullable(o, 'base', commit) }),
    ...(o.generate === undefined ? {} : { generate: bool(o, 'generate') }),
    ...(o.secrets === undefined ? {} : { secrets: stringRecord(o, 'secrets', ENV_NAME, LIMITS.jobSecrets, LIMITS.text) }),
  }),
  artifact: (o) => {
    const size = count(o, 'size');
    const data = checked(o, 'data', (v) => v.length <= BASE64_CHUNK && BASE64.test(v), `base64 of at most ${LIMITS.artifactChunk} bytes`);
    return { lease: lease(o, 'lease'), path: artifactPath(o, 'path'), size, offset: int(o, 'offset', 0, size), data };
  },
  abort: (o) => ({ lease: lease(o, 'lease') }),
  output: (o) => ({ lease: lease(o, 'lease'), stream: oneOf(o, 'stream', STREAMS), data: text(o, 'data', LIMITS.outputChunk) }),
  result: (o) => ({ lease: lease(o, 'lease'), outcome: outcome(o, 'outcome') }),
  recorded: (o) => ({ lease: lease(o, 'lease'), accepted: bool(o, 'accepted') }),
  drain: () => ({}),
  observe: (o) => ({ project: nullable(o, 'project', name), repo: repo(o, 'repo'), supersede: bool(o, 'supersede') }),
  observing: (o) => ({ project: nullable(o, 'project', name) }),
  commit: (o) => ({ commit: commit(o, 'commit'), ref: ref(o, 'ref') }),
  queued: (o) => ({ commit: commit(o, 'commit'), duplicate: bool(o, 'duplicate') }),
  scan: () => ({}),
  command: (o) => ({ id: requestId(o, 'id'), command: command(o, 'command') }),
  'command-result': (o) => ({
    id: requestId(o, 'id'), ok: bool(o, 'ok'), code: nullable(o, 'code', errorCode),
    message: text(o, 'message', LIMITS.text), commit: nullable(o, 'commit', commit), answer: nullable(o, 'answer', commandAnswer),
  }),
  finished: (o) => ({ id: count(o, 'id'), build: buildSummary(o, 'build'), jobs: list(o, 'jobs', LIMITS.jobsPerBuild, jobSummary) }),
  heard: (o) => ({ id: count(o, 'id') }),
  query: (o) => ({ commit: nullable(o, 'commit', commit), project: nullable(o, 'project', name) }),
  'find-commit': (o) => ({ prefix: commitPrefix(o, 'prefix'), project: nullable(o, 'project', name) }),
  commits: (o) => ({ prefix: commitPrefix(o, 'prefix'), commits: list(o, 'commits', LIMITS.commitMatches, commit), more: bool(o, 'more') }),
  notify: () => ({}),
  notified: (o) => ({ observers: count(o, 'observers') }),
  history: (o) => ({
    project: nullable(o, 'project', name), ref: ref(o, 'ref'),
    limit: int(o, 'limit', 1, LIMITS.historyPage), before: nullable(o, 'before', count),
  }),
  'history-page': (o) => ({ builds: list(o, 'builds', LIMITS.historyPage, buildSummary), next: nullable(o, 'next', count) }),
  logs: (o) => ({ commit: commit(o, 'commit'), project: nullable(o, 'project', name), job: nullable(o, 'job', name), follow: bool(o, 'follow') }),
  log: (o) => ({ job: name(o, 'job'), offset: count(o, 'offset'), data: text(o, 'data', LIMITS.logChunk) }),
  'log-progress': (o) => ({ build: buildSummary(o, 'build') }),
  'log-end': (o) => ({ build: buildSummary(o, 'build') }),
  admins: (o) => ({ op: oneOf(o, 'op', ADMIN_OPS), name: nullable(o, 'name', name) }),
  cancel: (o) => ({ commit: commit(o, 'commit'), project: nullable(o, 'project', name) }),
  retry: (o) => ({ commit: commit(o, 'commit'), project: nullable(o, 'project', name), job: nullable(o, 'job', name) }),
  build: (o) => {
    const built = { ref: nullable(o, 'ref', ref), commit: nullable(o, 'commit', commitPrefix), project: nullable(o, 'project', name) };
    if ((built.ref === null) === (built.commit === null)) checked(o, 'ref', () => false, 'a ref, or null with a commit in "commit"');
    return built;
  },
  'cancel-many': (o) => ({ project: nullable(o, 'project', name), ref: nullable(o, 'ref', ref), queued: bool(o, 'queued'), dryRun: bool(o, 'dryRun') }),
  'cancelled-many': (o) => ({ dryRun: bool(o, 'dryRun'), count: count(o, 'count'), commits: list(o, 'commits', LIMITS.commitMatches, commit) }),
  pause: (o) => ({ runner: name(o, 'runner'), paused: bool(o, 'paused') }),
  done: (o) => ({ ok: bool(o, 'ok'), code: nullable(o, 'code', errorCode), message: text(o, 'message', LIMITS.text), request: nullable(o, 'request', requestId) }),
  land: (o) => ({
    branch: ref(o, 'branch'), target: nullable(o, 'target', ref), project: nullable(o, 'project', name),
    priority: int(o, 'priority', -LIMITS.priority, LIMITS.priority), squash: bool(o, 'squash'), try: bool(o, 'try'),
  }),
  'land-wait': (o) => ({ request: requestId(o, 'request') }),
  'land-cancel': (o) => ({ request: requestId(o, 'request') }),
  queue: () => ({}),
  'land-queue': (o) => ({ requests: list(o, 'requests', LIMITS.queueRequests, landSummary), omitted: count(o, 'omitted') }),
  patch: (o) => ({
    project: nullable(o, 'project', name), base: nullable(o, 'base', baseSpec), author: nullable(o, 'author', author),
    subject: nullable(o, 'subject', subject), bytes: int(o, 'bytes', 0, LIMITS.patchBytes), sha256: sha256(o, 'sha256'),
  }),
  'patch-data': (o) => ({ data: chunk(o, 'data') }),
  'patch-op': (o) => ({ patch: requestId(o, 'patch'), op: oneOf(o, 'op', PATCH_OPS), flag: nullable(o, 'flag', name) }),
  patches: (o) => ({
    project: nullable(o, 'project', name), anyProject: bool(o, 'anyProject'), state: nullable(o, 'state', (x, k) => oneOf(x, k, PATCH_STATES)),
    flags: list(o, 'flags', LIMITS.patchFlags, name), touchesNone: list(o, 'touchesNone', 64, patchPath), brokenByTrunk: bool(o, 'brokenByTrunk'),
    sinceMs: nullable(o, 'sinceMs', count),
  }),
  'patch-list': (o) => ({ patches: list(o, 'patches', LIMITS.patchList, patchSummary), omitted: count(o, 'omitted') }),
  'patch-show': (o) => ({ patch: requestId(o, 'patch') }),
  'patch-record': (o) => ({ record: nullable(o, 'record', patchRecord), note: text(o, 'note', LIMITS.text) }),
  'patch-read': (o) => ({ patch: requestId(o, 'patch'), version: int(o, 'version', 1, MAX_INT), offset: int(o, 'offset', 0, LIMITS.patchBytes) }),
  'patch-bytes': (o) => ({
    patch: requestId(o, 'patch'), version: int(o, 'version', 1, MAX_INT), offset: int(o, 'offset', 0, LIMITS.patchBytes),
    data: chunk(o, 'data'), end: bool(o, 'end'),
  }),
  'admin-list': (o) => ({ names: list(o, 'names', 10_000, name), token: nullable(o, 'token', (x, k) => text(x, k, 512)) }),
  status: (o) => ({
    builds: list(o, 'builds', LIMITS.overviewBuilds, buildSummary),
    omitted: count(o, 'omitted'),
    runners: list(o, 'runners', LIMITS.overviewRunners, runnerSummary),
    runnersOmitted: count(o, 'runnersOmitted'),
    queued: count(o, 'queued'),
    unwritten: list(o, 'unwritten', LIMITS.overviewBuilds, commit),
    unwrittenCount: count(o, 'unwrittenCount'),
    record: nullable(o, 'record', buildRecord),
    note: text(o, 'note', LIMITS.text),
    ...(o.scaling === undefined ? {} : { scaling: scalingSummary(o, 'scaling') }),
    ...(o.heads === undefined ? {} : { heads: list(o, 'heads', LIMITS.overviewHeads, buildSummary) }),
  }),
};

/** Parses and validates one line (without its newline). Throws ProtocolError. */
export function decode(line: Buffer | string): Message {
  let textLine: string;
  if (typeof line === 'string') {
    textLine = line;
  } else {
    try {
      textLine = utf8.decode(line);
    } catch (cause) {
      throw new ProtocolError(ErrorCode.badUtf8, 'line is not valid UTF-8', { cause });
    }
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(textLine);
  } catch (cause) {
    throw new ProtocolError(ErrorCode.badJson, `line is not JSON: ${describeValue(textLine)}`, { cause });
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ProtocolError(ErrorCode.notAnObject, `line is not a JSON object: ${describeValue(parsed)}`);
  }
  const fields = parsed as Fields;
  const type = fields.type;
  if (typeof type !== 'string' || !Object.hasOwn(readers, type)) {
    throw new ProtocolError(ErrorCode.unknownType, `unknown message type ${describeValue(type)}`);
  }
  const read = readers[type as MessageType] as (o: Fields) => object;
  return { type, ...read(fields) } as Message;
}
