// Valid examples of every protocol message, shared by the codec, splitter and
// bad-line tests. Free-text fields carry NASTY so every test also exercises
// escaping: newlines, quotes, U+2028, emoji and lone surrogates.

import type { Message, MessageType } from '../../src/protocol/messages.js';
import type { AttemptRecord, BuildRecord, BuildSummary, JobRecord, JobSummary, RunOutcome, RunnerSummary } from '../../src/protocol/records.js';
import type { PatchApplication, PatchRecord } from '../../src/protocol/patch-records.js';

export const SHA1 = '0123456789abcdef0123456789abcdef01234567';
export const SHA1_B = 'fedcba9876543210fedcba9876543210fedcba98';
export const SHA256 = '0123456789abcdef'.repeat(4);

export const NASTY =
  'quote " backslash \\ newline \n crlf \r\n tab \t nul \u0000 esc \u001b del \u007f ' +
  'ls \u2028 ps \u2029 bom \ufeff e-acute \u00e9 euro \u20ac emoji \u{1f680} ' +
  'lone-high \ud800 lone-low \udc00 reversed \udc00\ud800 }{"type":"ping"}\n';

/** Every message type, checked by the compiler: adding a type breaks this until a fixture exists. */
export const ALL_TYPES: Record<MessageType, true> = {
  hello: true, welcome: true, challenge: true, auth: true, error: true,
  register: true, registered: true, drain: true, ping: true, pong: true, job: true, output: true, result: true, artifact: true, recorded: true,
  observe: true, observing: true, commit: true, queued: true, scan: true, command: true, 'command-result': true, finished: true, heard: true,
  query: true, status: true, notify: true, notified: true, admins: true, 'admin-list': true, 'find-commit': true, commits: true,
  abort: true, cancel: true, retry: true, build: true, pause: true, 'cancel-many': true, 'cancelled-many': true, done: true,
  land: true, 'land-wait': true, 'land-cancel': true, queue: true, 'land-queue': true,
  patch: true, 'patch-data': true, 'patch-op': true, patches: true, 'patch-list': true, 'patch-show': true, 'patch-record': true,
  'patch-read': true, 'patch-bytes': true,
  history: true, 'history-page': true, logs: true, log: true, 'log-progress': true, 'log-end': true,
};

export const fullOutcome: RunOutcome = {
  status: 'failed',
  exitCode: 1,
  signal: null,
  timedOut: false,
  startedAt: '2024-05-01T12:00:00.000Z',
  durationMs: 1234,
  command: ['npm', 'test', '--', NASTY],
  message: `2 tests failed: ${NASTY}`,
  counts: { tests: 10, passed: 7, failed: 2, skipped: 1 },
  infra: false, cancelled: false,
  failedTests: ['math.adds', `odd ${NASTY}`],
  junit: `<testsuites><testcase name="a &amp; b"/></testsuites>${NASTY}`,
  artifacts: [{ path: 'dist/app.js', bytes: 1234 }, { path: 'coverage/lcov.info', bytes: 0 }],
  artifactNotes: [`dist/link: a symbolic link, not followed ${NASTY}`],
};

export const killedOutcome: RunOutcome = {
  status: 'error',
  exitCode: null,
  signal: 'SIGKILL',
  timedOut: true,
  startedAt: '2024-05-01T12:00:00.000Z',
  durationMs: 600_000,
  command: [],
  message: 'timed out after 600000 ms',
  counts: null,
  infra: false, cancelled: false,
  failedTests: [],
  junit: null,
};

const attempt: AttemptRecord = {
  attempt: 1,
  lease: 'lease_1-a',
  runner: 'runner-1',
  status: 'failed',
  startedAt: '2024-05-01T12:00:00.000Z',
  endedAt: '2024-05-01T12:00:01.234Z',
  durationMs: 1234,
  exitCode: 1,
  signal: null,
  timedOut: false,
  infra: false,
  message: NASTY,
};

const lostAttempt: AttemptRecord = {
  ...attempt, attempt: 2, lease: 'lease_2', status: 'lost', endedAt: null, durationMs: null, exitCode: null, message: 'runner lost',
};

const jobRecord: JobRecord = {
  name: 'test',
  spec: {
    id: 'test', title: 'test (NODE=20)', run: ['sh', '-c', 'npm test'], env: { NODE: '20' },
    timeoutMs: 600_000, retries: 2, retryDelayMs: 10_000, labels: ['linux'], junit: 'reports/junit.xml',
  },
  status: 'failed',
  flaky: false,
  attempts: [lostAttempt, { ...attempt, attempt: 3, lease: 'lease_3' }],
  runner: 'runner-1',
  startedAt: '2024-05-01T12:00:00.000Z',
  endedAt: '2024-05-01T12:00:01.234Z',
  durationMs: 1234,
  exitCode: 1,
  signal: null,
  timedOut: false,
  counts: { tests: 10, passed: 7, failed: 2, skipped: 1 },
  command: ['npm', 'test'],
  message: '2 tests failed',
  log: `stdout and stderr ${NASTY}`,
  junit: null,
  failedTests: ['math.adds'],
  notBefore: null,
  artifacts: { dir: `${SHA1}.test.artifacts`, files: [{ path: 'dist/app.js', bytes: 1234 }], notes: ['coverage/lcov.info: not kept, it did not arrive whole'] },
};

/** A generated job with a condition and secrets. */
const richJob: JobRecord = {
  ...jobRecord, name: 'deploy',
  spec: { ...jobRecord.spec, id: 'deploy', when: { branches: ['main', 'release/*'], subjects: ['push', 'land'], paths: ['src/**'] }, secrets: ['DEPLOY_TOKEN', 'X'], generated: true },
  secrets: { granted: ['DEPLOY_TOKEN'], withheld: ['X'], reason: 'the dispatcher has no secret X' },
};
const generatorJob: JobRecord = { ...jobRecord, name: 'generate', spec: { ...jobRecord.spec, id: 'generate', generator: true } };

export const buildRecord: BuildRecord = {
  commit: SHA1,
  repo: '/srv/git/app.git',
  ref: 'refs/heads/main',
  project: null,
  subject: { kind: 'push', base: null, request: null, requests: [] },
  run: 1,
  background: false,
  status: 'failed',
  flaky: false,
  message: '2 tests failed',
  runner: 'runner-1',
  attempts: 3,
  queuedAt: '2024-05-01T11:59:59.000Z',
  startedAt: '2024-05-01T12:00:00.000Z',
  endedAt: '2024-05-01T12:00:01.234Z',
  durationMs: 1234,
  counts: { tests: 10, passed: 7, failed: 2, skipped: 1 },
  jobs: [jobRecord, generatorJob, richJob],
};

const queuedBuild: BuildRecord = {
  ...buildRecord, commit: SHA256, status: 'queued', message: '', runner: null, attempts: 0,
  startedAt: null, endedAt: null, durationMs: null, counts: null, jobs: [],
};

export const application: PatchApplication = {
  n: 2, purpose: 'retest', onto: SHA1, applied: SHA1_B, testsOnly: SHA256, state: 'failed', status: 'failed', testsOnlyStatus: 'failed',
  fix: 'n/a', message: `does not apply: ${NASTY}`, at: '2024-05-01T12:00:00.000Z', endedAt: null,
};

export const patchRecord: PatchRecord = {
  id: 'P-12', project: 'lib', subject: 'Fix the parser', author: 'Ann Über <ann@example.org>', state: 'failed', message: NASTY,
  trunk: 'refs/heads/main', flags: ['ready-for-checkin'], by: 'submitter mail', submittedAt: '2024-05-01T12:00:00.000Z', closedAt: null,
  brokenBy: { good: SHA1, bad: SHA1_B, at: '2024-05-02T12:00:00.000Z', first: null, left: 7, message: 'narrowing' },
  versions: [{
    version: 2, format: 'mbox', parts: 3, cover: true, bytes: 4096, sha256: 'ab'.repeat(32), files: ['src/parser.c', `tests/${NASTY.slice(0, 20)}`],
    baseSpec: 'main', base: SHA1, by: 'submitter mail', submittedAt: '2024-05-01T12:00:00.000Z', applications: [application],
  }],
};

export const runnerSummary: RunnerSummary = {
  name: 'runner-1', slots: 2, labels: ['linux', 'node-20'], busy: 1, running: [SHA1], draining: false, paused: true,
  unhealthy: `unhealthy until 2024-05-01T12:01:00.000Z after infrastructure failures in a row (last: fetch failed: ${NASTY})`,
};

export const buildSummary: BuildSummary = {
  commit: SHA1, project: 'lib', ref: 'refs/heads/main', subject: { kind: 'land', base: SHA1_B, request: 'B-4', requests: ['L-17', 'L-18'] }, run: 2,
  status: 'failed', flaky: true, note: `test: ${NASTY.slice(0, 100)}`, queuedAt: '2024-05-01T11:59:59.000Z',
  startedAt: '2024-05-01T12:00:00.000Z', endedAt: '2024-05-01T12:00:01.234Z', durationMs: 1234,
  counts: { tests: 10, passed: 7, failed: 2, skipped: 1 }, jobs: { failed: 1, passed: 3 }, runners: ['runner-1'], unwritten: true,
};

const queuedSummary: BuildSummary = {
  ...buildSummary, commit: SHA256, project: null, subject: { kind: 'push', base: null, request: null, requests: [] }, run: 1, status: 'queued',
  flaky: false, note: 'waiting for a runner with labels gpu', startedAt: null, endedAt: null, durationMs: null, counts: null,
  jobs: { queued: 2 }, runners: [], unwritten: false,
};

export const jobSummaries: JobSummary[] = [
  { name: 'unit.NODE-18', title: 'unit (NODE=18)', status: 'failed', flaky: false, counts: { tests: 10, passed: 8, failed: 2, skipped: 0 }, durationMs: 1234, note: `2 tests failed ${NASTY.slice(0, 80)}` },
  { name: 'lint', title: 'lint', status: 'passed', flaky: true, counts: null, durationMs: null, note: '' },
];

export interface Fixture { name: string; message: Message }

export const fixtures: Fixture[] = [
  { name: 'hello runner', message: { type: 'hello', version: 1, role: 'runner', name: 'runner-1' } },
  { name: 'hello observer', message: { type: 'hello', version: 1, role: 'observer', name: 'observer' } },
  { name: 'hello client with a printable name', message: { type: 'hello', version: 1, role: 'client', name: 'ops "desk" \\ \u00e9 \u{1f680} }{' } },
  { name: 'welcome', message: { type: 'welcome', version: 1, heartbeatMs: 5000, deadlineMs: 15000 } },
  { name: 'error', message: { type: 'error', code: 'bad-field', message: `field "seq" must be ... ${NASTY}` } },
  { name: 'register', message: { type: 'register', name: 'runner-1', slots: 2, labels: ['linux', 'x86_64', 'node-20'], leases: [] } },
  { name: 'register holding leases', message: { type: 'register', name: 'runner-1', slots: 1, labels: [], leases: ['AbC_12-x', 'q'] } },
  { name: 'drain', message: { type: 'drain' } },
  { name: 'challenge', message: { type: 'challenge', nonce: 'n0nce_With-32-base64url-chars_xy' } },
  { name: 'auth', message: { type: 'auth', proof: 'ab'.repeat(32) } },
  { name: 'scan', message: { type: 'scan' } },
  { name: 'notify', message: { type: 'notify' } },
  { name: 'notified', message: { type: 'notified', observers: 2 } },
  { name: 'admins add', message: { type: 'admins', op: 'add', name: 'alice' } },
  { name: 'admins list', message: { type: 'admins', op: 'list', name: null } },
  { name: 'admin-list', message: { type: 'admin-list', names: ['alice', 'bob'], token: `keel1:admin:alice:${'0'.repeat(64)}` } },
  { name: 'register without labels', message: { type: 'register', name: 'r', slots: 256, labels: [], leases: [] } },
  { name: 'registered', message: { type: 'registered', name: 'runner-1' } },
  { name: 'ping', message: { type: 'ping', seq: 0 } },
  { name: 'pong', message: { type: 'pong', seq: Number.MAX_SAFE_INTEGER } },
  {
    name: 'job',
    message: {
      type: 'job', lease: 'lease_1-a', attempt: 1, job: 'test', commit: SHA1,
      repo: '/srv/git/app.git', ref: 'refs/heads/main', timeoutMs: 600_000,
      title: 'test (NODE=20, "quoted")', run: ['sh', '-c', `echo ${NASTY.replace(/\u0000/g, '')}`], env: { NODE: '20', _X1: '' }, junit: 'reports/junit.xml',
      artifacts: ['dist/**', 'coverage/lcov.info', 'rep?rts/*.x\u00e9ml'], artifactBytes: 256 * 1024 * 1024,
    },
  },
  {
    name: 'job with its build, a generator\'s flag and secrets',
    message: {
      type: 'job', lease: 'lease_1-b', attempt: 1, job: 'generate', commit: SHA1,
      repo: '/srv/git/app.git', ref: 'refs/keel/land/B-4', timeoutMs: 60_000, title: 'generate', run: ['./gen'], env: {}, junit: null, artifacts: [], artifactBytes: 0,
      build: `land/B-4/${SHA1}`, subject: 'land', base: SHA1_B, generate: true, secrets: { DEPLOY_TOKEN: NASTY.replace(/\u0000/g, '') },
    },
  },
  {
    name: 'job without timeout, sha-256 commit',
    message: {
      type: 'job', lease: 'L'.repeat(64), attempt: 3, job: 'lint.node-20', commit: SHA256,
      repo: 'ssh://git@example.com/app.git', ref: 'refs/tags/v1.0', timeoutMs: null,
      title: 'lint', run: null, env: {}, junit: null, artifacts: [], artifactBytes: 0,
    },
  },
  { name: 'artifact piece', message: { type: 'artifact', lease: 'lease_1-a', path: 'dist/app \u00e9 "x".js', size: 10, offset: 4, data: Buffer.from('abcdef').toString('base64') } },
  { name: 'artifact, empty file', message: { type: 'artifact', lease: 'lease_1-a', path: 'coverage/.empty', size: 0, offset: 0, data: '' } },
  { name: 'output stdout', message: { type: 'output', lease: 'lease_1-a', stream: 'stdout', data: NASTY } },
  { name: 'output stderr empty', message: { type: 'output', lease: 'lease_1-a', stream: 'stderr', data: '' } },
  { name: 'result with full outcome', message: { type: 'result', lease: 'lease_1-a', outcome: fullOutcome } },
  { name: 'result killed, no counts', message: { type: 'result', lease: 'lease_1-a', outcome: killedOutcome } },
  { name: 'result of a generator', message: { type: 'result', lease: 'lease_1-b', outcome: { ...fullOutcome, status: 'passed', generated: `{"unit": {"run": "${NASTY.slice(0, 20)}"}}` } } },
  { name: 'recorded accepted', message: { type: 'recorded', lease: 'lease_1-a', accepted: true } },
  { name: 'recorded stale', message: { type: 'recorded', lease: 'lease_1-a', accepted: false } },
  { name: 'observe', message: { type: 'observe', project: null, repo: 'file:///srv/git/app.git', supersede: false } },
  { name: 'observe a project, superseding', message: { type: 'observe', project: 'lib', repo: 'git@example.com:lib.git', supersede: true } },
  { name: 'observing', message: { type: 'observing', project: 'lib' } },
  { name: 'commit', message: { type: 'commit', commit: SHA1, ref: 'refs/heads/feature/x-1' } },
  { name: 'commit, sha-256', message: { type: 'commit', commit: SHA256, ref: 'refs/heads/main' } },
  { name: 'command resolve', message: { type: 'command', id: 'C-12', command: { op: 'resolve', ref: 'refs/heads/main' } } },
  { name: 'command-result ok', message: { type: 'command-result', id: 'C-12', ok: true, code: null, message: `main is at ${SHA1}`, commit: SHA1, answer: null } },
  { name: 'command-result failed', message: { type: 'command-result', id: 'C-999999999999999', ok: false, code: 'unknown-ref', message: NASTY, commit: null, answer: null } },
  { name: 'command locate', message: { type: 'command', id: 'C-13', command: { op: 'locate', commit: 'abcdef0' } } },
  { name: 'command-result located', message: { type: 'command-result', id: 'C-13', ok: true, code: null, message: `${SHA1} is on refs/heads/main`, commit: SHA1, answer: { op: 'locate', ref: 'refs/heads/main' } } },
  { name: 'command inspect', message: { type: 'command', id: 'Q-3', command: { op: 'inspect', refs: ['refs/heads/feature-x', 'refs/heads/main'] } } },
  {
    name: 'command merge',
    message: {
      type: 'command', id: 'C-13',
      command: { op: 'merge', batch: 'B-4', kind: 'land', target: 'refs/heads/main', onto: SHA1_B, steps: [{ request: 'L-7', branch: 'refs/heads/feature-x', by: `alice ${NASTY}` }], squash: true, attempt: 2 },
    },
  },
  {
    name: 'command land',
    message: {
      type: 'command', id: 'C-14',
      command: { op: 'land', batch: 'B-4', target: 'refs/heads/main', expect: SHA1, commit: SHA1_B, heads: [{ request: 'L-7', branch: 'refs/heads/feature-x', commit: SHA1 }] },
    },
  },
  { name: 'command prune', message: { type: 'command', id: 'C-15', command: { op: 'prune', refs: ['refs/keel/land/B-1', 'refs/keel/land/B-2'] } } },
  {
    name: 'command-result inspect',
    message: {
      type: 'command-result', id: 'Q-3', ok: true, code: null, message: 'inspected', commit: null,
      answer: { op: 'inspect', refs: [{ ref: 'refs/heads/feature-x', commit: SHA1 }, { ref: 'refs/heads/gone', commit: null }], defaultBranch: 'refs/heads/main' },
    },
  },
  {
    name: 'command-result merge conflict',
    message: {
      type: 'command-result', id: 'C-13', ok: false, code: 'conflict', message: NASTY, commit: null,
      answer: { op: 'merge', base: SHA1, heads: [], conflict: { request: 'L-7', files: ['src/a.ts', `odd ${NASTY}`] } },
    },
  },
  {
    name: 'command-result merge',
    message: {
      type: 'command-result', id: 'C-13', ok: true, code: null, message: 'merged', commit: SHA1_B,
      answer: { op: 'merge', base: SHA1, heads: [{ request: 'L-7', branch: 'refs/heads/feature-x', commit: SHA1 }], conflict: null },
    },
  },
  {
    name: 'command-result land moved',
    message: { type: 'command-result', id: 'C-14', ok: false, code: 'branch-moved', message: 'feature-x moved', commit: null, answer: { op: 'land', moved: ['L-7'] } },
  },

  { name: 'finished', message: { type: 'finished', id: 17, build: buildSummary, jobs: jobSummaries } },
  { name: 'finished, a build with no jobs', message: { type: 'finished', id: Number.MAX_SAFE_INTEGER, build: queuedSummary, jobs: [] } },
  { name: 'heard', message: { type: 'heard', id: 17 } },
  { name: 'build', message: { type: 'build', ref: 'refs/heads/release/1.x', commit: null, project: 'lib' } },
  { name: 'build a commit by its start', message: { type: 'build', ref: null, commit: '0123456', project: null } },
  { name: 'build a commit by its whole id', message: { type: 'build', ref: null, commit: SHA256, project: 'lib' } },
  { name: 'find-commit', message: { type: 'find-commit', prefix: '0123456', project: null } },
  { name: 'commits', message: { type: 'commits', prefix: '0123456789ab', commits: [SHA1, SHA256], more: true } },
  { name: 'commits, none', message: { type: 'commits', prefix: 'fffffff', commits: [], more: false } },
  { name: 'cancel-many of a branch, queued only, dry run', message: { type: 'cancel-many', project: 'lib', ref: 'refs/heads/flood', queued: true, dryRun: true } },
  { name: 'cancel-many of everything', message: { type: 'cancel-many', project: null, ref: null, queued: false, dryRun: false } },
  { name: 'cancelled-many', message: { type: 'cancelled-many', dryRun: false, count: 1000, commits: [SHA1, SHA1_B] } },
  { name: 'pause a runner', message: { type: 'pause', runner: 'runner-1', paused: true } },
  { name: 'resume a runner', message: { type: 'pause', runner: 'r.2_x-y', paused: false } },
  { name: 'abort', message: { type: 'abort', lease: 'lease_1-a' } },
  { name: 'cancel', message: { type: 'cancel', commit: SHA1, project: null } },
  { name: 'retry one job', message: { type: 'retry', commit: SHA1, project: 'lib', job: 'unit.NODE-18' } },
  { name: 'retry all', message: { type: 'retry', commit: SHA256, project: null, job: null } },
  { name: 'done', message: { type: 'done', ok: true, code: null, message: `cancelled ${SHA1}`, request: null } },
  { name: 'done, refused', message: { type: 'done', ok: false, code: 'not-finished', message: `${SHA1} is still running`, request: null } },
  { name: 'done of a land request', message: { type: 'done', ok: false, code: 'tests-failed', message: `L-17 failed: ${NASTY}`, request: 'L-17' } },
  { name: 'land', message: { type: 'land', branch: 'refs/heads/feature/x', target: 'refs/heads/main', project: 'lib', priority: 10, squash: true, try: false } },
  { name: 'try, default target', message: { type: 'land', branch: 'refs/heads/wip', target: null, project: null, priority: 0, squash: false, try: true } },
  { name: 'land-wait', message: { type: 'land-wait', request: 'L-17' } },
  { name: 'land-cancel', message: { type: 'land-cancel', request: 'L-17' } },
  { name: 'queue', message: { type: 'queue' } },
  {
    name: 'land-queue',
    message: {
      type: 'land-queue', omitted: 2,
      requests: [{
        id: 'L-17', kind: 'land', project: null, branch: 'refs/heads/feature-x', head: SHA1, target: 'refs/heads/main', priority: 0,
        squash: false, state: 'testing', message: NASTY, by: 'alice', queuedAt: '2024-05-01T12:00:00.000Z', endedAt: null,
        flaky: false, landedAs: null, builds: [{ batch: 'B-4', commit: SHA1_B, base: SHA1, status: 'running' }],
      }],
    },
  },
  { name: 'patch', message: { type: 'patch', project: 'lib', base: 'release/1.x', author: 'Ann <ann@example.org>', subject: 'Fix the parser', bytes: 1234, sha256: 'cd'.repeat(32) } },
  { name: 'patch of an mbox', message: { type: 'patch', project: null, base: null, author: null, subject: null, bytes: 1, sha256: '00'.repeat(32) } },
  { name: 'patch-data', message: { type: 'patch-data', data: Buffer.from(NASTY).toString('base64') } },
  { name: 'patch-op flag', message: { type: 'patch-op', patch: 'P-12', op: 'flag', flag: 'ready-for-checkin' } },
  { name: 'patch-op close', message: { type: 'patch-op', patch: 'P-12', op: 'close', flag: null } },
  {
    name: 'patches',
    message: { type: 'patches', project: null, anyProject: true, state: 'failed', flags: ['ready-for-checkin'], touchesNone: ['docs/'], brokenByTrunk: true, sinceMs: 604_800_000 },
  },
  { name: 'patch-list', message: { type: 'patch-list', patches: [{ ...patchRecord, versions: 2, files: ['src/parser.c'], latest: application }], omitted: 3 } },
  { name: 'patch-show', message: { type: 'patch-show', patch: 'P-12' } },
  { name: 'patch-record', message: { type: 'patch-record', record: patchRecord, note: '' } },
  { name: 'patch-record unknown', message: { type: 'patch-record', record: null, note: `no patch P-9 is known ${NASTY}` } },
  { name: 'patch-read', message: { type: 'patch-read', patch: 'P-12', version: 2, offset: 524_288 } },
  { name: 'patch-bytes', message: { type: 'patch-bytes', patch: 'P-12', version: 2, offset: 0, data: Buffer.from('diff --git a/x b/x\n').toString('base64'), end: true } },
  { name: 'command base', message: { type: 'command', id: 'Q-4', command: { op: 'base', spec: 'release/1.x' } } },
  { name: 'command range', message: { type: 'command', id: 'C-20', command: { op: 'range', from: SHA1, to: SHA1_B } } },
  {
    name: 'command apply',
    message: {
      type: 'command', id: 'C-21',
      command: { op: 'apply', patch: 'P-12', version: 2, n: 3, format: 'diff', onto: SHA1, author: 'Ann <ann@example.org>', subject: 'Fix it', bytes: 10, sha256: 'ef'.repeat(32) },
    },
  },
  {
    name: 'command-result base',
    message: { type: 'command-result', id: 'Q-4', ok: true, code: null, message: 'found', commit: SHA1, answer: { op: 'base', commit: SHA1, branch: null, defaultBranch: 'refs/heads/main', onDefault: true } },
  },
  {
    name: 'command-result range',
    message: { type: 'command-result', id: 'C-20', ok: true, code: null, message: 'listed', commit: null, answer: { op: 'range', commits: [SHA1_B], truncated: false } },
  },
  {
    name: 'command-result apply conflict',
    message: {
      type: 'command-result', id: 'C-21', ok: false, code: 'conflict', message: NASTY, commit: null,
      answer: { op: 'apply', applied: null, testsOnly: null, conflict: { message: NASTY, files: ['src/parser.c'] } },
    },
  },
  { name: 'queued', message: { type: 'queued', commit: SHA1, duplicate: false } },
  { name: 'queued duplicate', message: { type: 'queued', commit: SHA256, duplicate: true } },
  { name: 'query overview', message: { type: 'query', commit: null, project: null } },
  { name: 'history, newest', message: { type: 'history', project: null, ref: 'refs/heads/feature/<b>&"x"', limit: 20, before: null } },
  { name: 'history, a later page', message: { type: 'history', project: 'lib', ref: 'refs/heads/main', limit: 100, before: 123_456 } },
  { name: 'history-page', message: { type: 'history-page', builds: [buildSummary, queuedSummary], next: 4096 } },
  { name: 'history-page, the last', message: { type: 'history-page', builds: [], next: null } },
  { name: 'logs of every job', message: { type: 'logs', commit: SHA1, project: null, job: null, follow: true } },
  { name: 'logs of one job', message: { type: 'logs', commit: SHA256, project: 'lib', job: 'unit.NODE-18', follow: false } },
  { name: 'log', message: { type: 'log', job: 'tests', offset: 0, data: NASTY } },
  { name: 'log at an offset', message: { type: 'log', job: 'unit.NODE-18', offset: Number.MAX_SAFE_INTEGER, data: '' } },
  { name: 'log-progress', message: { type: 'log-progress', build: queuedSummary } },
  { name: 'log-end', message: { type: 'log-end', build: buildSummary } },
  { name: 'query one commit', message: { type: 'query', commit: SHA1, project: null } },
  {
    name: 'status',
    message: {
      type: 'status', builds: [buildSummary, queuedSummary], omitted: 3, runners: [runnerSummary], runnersOmitted: 0,
      queued: 1, unwritten: [buildRecord.commit], unwrittenCount: 1, record: null, note: '',
    },
  },
  {
    name: 'status with the last build of each branch',
    message: {
      type: 'status', builds: [], omitted: 0, runners: [], runnersOmitted: 0,
      queued: 0, unwritten: [], unwrittenCount: 0, record: null, note: '', heads: [buildSummary],
    },
  },
  {
    name: 'status with runners started on demand',
    message: {
      type: 'status', builds: [], omitted: 0, runners: [runnerSummary], runnersOmitted: 0,
      queued: 2, unwritten: [], unwrittenCount: 0, record: null, note: '',
      scaling: {
        started: [{ name: 'keel-auto-0a1b2c-1', labels: ['gpu'], state: 'starting', reason: '2 job(s) waited 10 s for a runner with labels gpu', since: '2024-05-01T12:00:00.000Z' }],
        failures: 1, lastFailure: `keel-auto-0a1b2c-0: ${NASTY}`, backoffUntil: '2024-05-01T12:00:05.000Z',
      },
    },
  },
  {
    name: 'status of one build',
    message: {
      type: 'status', builds: [buildSummary], omitted: 0, runners: [], runnersOmitted: 0,
      queued: 0, unwritten: [], unwrittenCount: 0, record: buildRecord, note: `trimmed ${NASTY}`,
    },
  },
  {
    name: 'status of a queued build',
    message: {
      type: 'status', builds: [queuedSummary], omitted: 0, runners: [], runnersOmitted: 0,
      queued: 0, unwritten: [], unwrittenCount: 0, record: queuedBuild, note: '',
    },
  },
];

/** The first fixture of a type, as a plain object to mutate into bad lines. */
export function sample<T extends MessageType>(type: T): Extract<Message, { type: T }> {
  const found = fixtures.find((f) => f.message.type === type);
  if (!found) throw new Error(`no fixture for ${type}`);
  return structuredClone(found.message) as Extract<Message, { type: T }>;
}
