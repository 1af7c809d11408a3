// The dispatcher never sends a message its peers would refuse: jobs made
// from the largest keel.json the rules allow, an overview of thousands of
// builds and runners, and one build's record at its worst all encode within
// the line limit and decode with the peers' own codec. And what the rules
// refuse is refused where keel.json is read, naming the field.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { jobMessage } from '../../src/dispatcher/job-message.js';
import { summariseJobs } from '../../src/dispatcher/job-summary.js';
import { KeelJsonError, parseKeelJson } from '../../src/dispatcher/keel-json.js';
import { overview, recordReply, summarise } from '../../src/dispatcher/queries.js';
import { reduce } from '../../src/dispatcher/reducer.js';
import { RunnerRegistry } from '../../src/dispatcher/runner-registry.js';
import { emptyState } from '../../src/dispatcher/state.js';
import { decode, encode } from '../../src/protocol/codec.js';
import { LIMITS } from '../../src/protocol/limits.js';
import type { Message } from '../../src/protocol/messages.js';
import { PUSH, type BuildRecord } from '../../src/protocol/records.js';

const REPO = '/srv/git/app.git';
const REF = 'refs/heads/main';
const sha = (i: number) => i.toString(16).padStart(40, '0');

/** Encodes, checks the line limit, and decodes with the codec every peer uses. */
function roundTrip(message: Message): number {
  const line = encode(message);
  const bytes = Buffer.byteLength(line) - 1;
  assert.ok(bytes <= LIMITS.lineBytes, `${message.type} is ${bytes} bytes, over the ${LIMITS.lineBytes} a peer accepts`);
  decode(line.slice(0, -1));
  return bytes;
}

function refused(text: string, field: RegExp): void {
  assert.throws(() => parseKeelJson(text), (error: unknown) => {
    assert.ok(error instanceof KeelJsonError, String(error));
    assert.match(error.message, field);
    return true;
  });
}

test('keel.json the runner could not take is refused where it is read, naming the field', () => {
  refused(JSON.stringify({ jobs: { unit: { matrix: { V: ['a\nb'] } } } }), /jobs\.unit\.matrix\.V\[0\] must not contain a newline/);
  refused(JSON.stringify({ jobs: { unit: { matrix: { V: ['v'.repeat(256)] } } } }), /jobs\.unit\.matrix makes the job title .* of 265 characters; at most 256/);
  const env = Object.fromEntries(Array.from({ length: 64 }, (_, i) => [`E${i}`, 'x']));
  const matrix = Object.fromEntries(Array.from({ length: 8 }, (_, i) => [`M${i}`, ['m']]));
  refused(JSON.stringify({ jobs: { unit: { env, matrix } } }), /jobs\.unit\.matrix with env makes 72 variables for each job; at most 64/);
});

test('every job the largest allowed keel.json makes travels in a job message the runner accepts', () => {
  // As much env as the file may hold, every value as long as allowed and as costly to escape as JSON makes it.
  const nasty = '"\\\u2028'.repeat(LIMITS.text / 3).slice(0, LIMITS.text);
  const env: Record<string, string> = {};
  const fileBytes = () => Buffer.byteLength(JSON.stringify({ jobs: { unit: { env } } }));
  for (let i = 0; i < 48; i++) {
    env[`VARIABLE_${'N'.repeat(100)}_${i}`] = nasty;
    if (fileBytes() > LIMITS.keelJsonBytes - 2 * LIMITS.text) {
      delete env[`VARIABLE_${'N'.repeat(100)}_${i}`];
      break;
    }
  }
  const matrix = Object.fromEntries(Array.from({ length: 4 }, (_, i) => [`M${i}`, ['a'.repeat(40), 'b'.repeat(40)]]));
  const text = JSON.stringify({ jobs: { unit: { env, matrix, run: ['sh', '-c', 'x'.repeat(LIMITS.text)], junit: 'r'.repeat(LIMITS.junitPath) } } });
  assert.ok(Buffer.byteLength(text) <= LIMITS.keelJsonBytes, `the file is ${Buffer.byteLength(text)} bytes`);
  const specs = parseKeelJson(text);
  assert.equal(specs.length, 16);
  const state = emptyState();
  reduce(state, { op: 'commit', commit: sha(1), repo: REPO, ref: REF, project: null, subject: PUSH, supersede: false, jobs: specs, error: null, at: new Date().toISOString() }, { maxAttempts: 3 });
  const build = state.builds.get(sha(1))!;
  let largest = 0;
  for (const job of build.jobs) largest = Math.max(largest, roundTrip(jobMessage(build, job, crypto.randomUUID(), LIMITS.attempts, Number.MAX_SAFE_INTEGER)));
  assert.ok(largest > LIMITS.keelJsonBytes / 2, `the test made a job message as large as the file allows (${largest} bytes)`);
});

/** A finished build with everything a repository and its runners can make large, as big as the rules allow. */
function worstBuild(i: number): BuildRecord {
  const state = emptyState();
  const env = Object.fromEntries(Array.from({ length: 60 }, (_, v) => [`V${v}`, '\u0001'.repeat(1000)]));
  const jobs = Array.from({ length: LIMITS.jobsPerBuild }, (_, j) => ({
    id: `job-${j}`, title: 't'.repeat(LIMITS.printable), run: Array.from({ length: LIMITS.runArgs }, () => 'r'.repeat(LIMITS.text)),
    env, timeoutMs: null, retries: LIMITS.retries, retryDelayMs: 0, labels: Array.from({ length: LIMITS.jobLabels }, (_, l) => `label-${l}`), junit: null,
  }));
  const rules = { maxAttempts: 20 };
  const at = new Date().toISOString();
  reduce(state, { op: 'commit', commit: sha(i), repo: REPO, ref: REF, project: null, subject: PUSH, supersede: false, jobs, error: null, at }, rules);
  const build = state.builds.get(sha(i))!;
  const outcome = {
    status: 'failed' as const, exitCode: 1, signal: null, timedOut: false, startedAt: at, durationMs: 1,
    command: Array.from({ length: 64 }, () => 'c'.repeat(1000)), message: 'm'.repeat(LIMITS.text), counts: null,
    infra: false, cancelled: false, failedTests: Array.from({ length: LIMITS.failedTests }, () => 'f'.repeat(LIMITS.failedTestChars)), junit: null,
  };
  for (let attempt = 0; attempt <= LIMITS.retries; attempt++) {
    for (const job of build.jobs) {
      if (job.status !== 'queued') continue;
      job.notBefore = null;
      const lease = `${job.name}-${attempt}`;
      reduce(state, { op: 'assign', key: sha(i), job: job.name, lease, runner: 'r'.repeat(LIMITS.name), at }, rules);
      reduce(state, { op: 'result', lease, outcome, junitFile: null, at }, rules);
    }
  }
  assert.equal(build.status, 'failed');
  return build;
}

test('one build at its worst is sent trimmed to fit, with a note, and its summary in events is small', () => {
  const build = worstBuild(1);
  assert.ok(Buffer.byteLength(JSON.stringify(build)) > 4 * LIMITS.lineBytes, 'the record itself is far over the line limit');
  const state = emptyState();
  const reply = recordReply(overview(state, new RunnerRegistry()), build);
  roundTrip(reply);
  assert.match(reply.note, /trimmed to fit one message/);
  assert.equal(reply.record!.jobs.length, LIMITS.jobsPerBuild, 'every job is still listed');
  assert.ok(reply.record!.jobs.every((job) => job.attempts.every((attempt) => attempt.lease === '')), 'no lease id is shown');
  // The event carries a line per job: every job's title and message at their longest still make a small line.
  const event = roundTrip({ type: 'finished', id: 1, build: summarise(build, false), jobs: summariseJobs(build) });
  assert.ok(event < 64 * 1024, `the finished event is ${event} bytes`);
});

test('an overview of thousands of builds and runners is bounded, counting what it leaves out', () => {
  const state = emptyState();
  const rules = { maxAttempts: 3 };
  const at = new Date().toISOString();
  for (let i = 0; i < 5000; i++) {
    const jobs = Array.from({ length: 4 }, (_, j) => ({
      id: `j${j}`, title: 'job', run: null, env: {}, timeoutMs: null, retries: 0, retryDelayMs: 0, labels: ['gpu'], junit: null,
    }));
    reduce(state, { op: 'commit', commit: sha(i), repo: REPO, ref: `refs/heads/${'b'.repeat(200)}${i}`, project: 'p'.repeat(64), subject: PUSH, supersede: false, jobs, error: null, at }, rules);
  }
  const runners = new RunnerRegistry();
  for (let r = 0; r < 3000; r++) {
    runners.add(`runner-${r}-${'n'.repeat(50)}`, LIMITS.slots, Array.from({ length: LIMITS.labels }, (_, l) => `label-${l}-${'x'.repeat(50)}`), { send: () => true, close: () => {} });
  }
  const status = overview(state, runners);
  const bytes = roundTrip(status);
  assert.ok(status.omitted > 0 && status.builds.length + status.omitted === 5000, `${status.builds.length} shown, ${status.omitted} counted`);
  assert.ok(status.runnersOmitted > 0 && status.runners.length + status.runnersOmitted === 3000);
  assert.equal(status.queued, 20_000);
  assert.ok(bytes > LIMITS.lineBytes / 2, `the overview used its room (${bytes} bytes)`);
  assert.equal(status.builds[0]!.note, 'waiting for a runner with labels gpu');
});
