// How the dispatcher's journal records and snapshot are checked at replay:
// with the wire's own field readers, so a number the JSON holds but Keel
// cannot (1e400, a fraction where a count belongs) or an id that could reach
// a path is refused there as it would be on the wire.

import { bool, checked, int, list, nullable, object, oneOf, text, type Fields } from '../protocol/fields.js';
import { LIMITS } from '../protocol/limits.js';
import { artifactsKept, buildRecord, commitId, errorCode, jobSpec, outcome, plainName, refName, repoUrl, requestId, secretGrant, subject, time } from '../protocol/record-fields.js';
import { command } from '../protocol/command-fields.js';
import { ErrorCode } from '../protocol/error-codes.js';
import { ProtocolError } from '../protocol/errors.js';
import type { Generated } from './generated-jobs.js';
import type { JobDecisions } from './job-decisions.js';
import { batch, gateCounts, landRequest } from './gate/format.js';
import { patchCounts, patchEntry } from './patches/format.js';
import type { JournalFormat } from './journal.js';
import { itemId, readOutbox } from './outbox-format.js';
import type { JournalRecord, RecordOp } from './records.js';
import type { PendingCommand, Snapshot } from './state.js';

const OPS: readonly RecordOp[] = ['commit', 'assign', 'lost', 'result', 'cancel', 'retry', 'written', 'command', 'command-done', 'gate', 'patch', 'delivered', 'pause'];
/** Build keys are made of names, request ids and a commit id joined by "/". */
const key = (o: Fields, f: string) => checked(o, f, (v) => v.length <= 512 && /^[A-Za-z0-9._/-]+$/.test(v) && !v.split('/').includes('..'), 'a build key');
const lease = (o: Fields, f: string) => text(o, f, LIMITS.leaseChars);
const who = (o: Fields, f: string) => text(o, f, LIMITS.printable + 32);
const count = (o: Fields, f: string) => int(o, f, 0, Number.MAX_SAFE_INTEGER);

function jobDecisions(o: Fields, f: string): JobDecisions {
  const d = object(o, f);
  const byJob = <T>(field: string, read: (x: Fields, k: string) => T): Record<string, T> => {
    const entries = object(d, field);
    const keys = Object.keys(entries);
    const where = `${f}.${field}`;
    if (keys.length > 10 * LIMITS.jobsPerBuild) throw new ProtocolError(ErrorCode.badField, `field "${where}" has ${keys.length} entries`);
    // Job ids are names, as everywhere they are read.
    return Object.fromEntries(keys.map((key) => [plainName({ [where]: key }, where), read(entries, key)]));
  };
  return { skipped: byJob('skipped', (x, k) => text(x, k, 2 * LIMITS.text)), grants: byJob('grants', secretGrant) };
}

function generated(o: Fields, f: string): Generated {
  const g = object(o, f);
  return {
    jobs: list(g, 'jobs', 10 * LIMITS.jobsPerBuild, jobSpec), error: nullable(g, 'error', (x, k) => text(x, k, 2 * LIMITS.text)),
    ...(g.decisions === undefined ? {} : { decisions: jobDecisions(g, 'decisions') }),
  };
}

function readCommand(o: Fields, f: string): PendingCommand {
  const c = object(o, f);
  return { id: requestId(c, 'id'), project: nullable(c, 'project', plainName), command: command(c, 'command'), by: who(c, 'by'), at: time(c, 'at') };
}

const readers: { [T in RecordOp]: (o: Fields) => Extract<JournalRecord, { op: T }> } = {
  commit: (o) => ({
    op: 'commit', commit: commitId(o, 'commit'), repo: repoUrl(o, 'repo'), ref: refName(o, 'ref'),
    project: nullable(o, 'project', plainName), ...(o.subject === undefined ? {} : { subject: subject(o, 'subject') }),
    supersede: bool(o, 'supersede'), jobs: list(o, 'jobs', 10 * LIMITS.jobsPerBuild, jobSpec),
    error: nullable(o, 'error', (x, k) => text(x, k, 2 * LIMITS.text)), at: time(o, 'at'),
    ...(o.background === undefined ? {} : { background: bool(o, 'background') }),
    ...(o.decisions === undefined ? {} : { decisions: jobDecisions(o, 'decisions') }),
  }),
  assign: (o) => ({ op: 'assign', key: key(o, 'key'), job: plainName(o, 'job'), lease: lease(o, 'lease'), runner: plainName(o, 'runner'), at: time(o, 'at') }),
  lost: (o) => ({ op: 'lost', lease: lease(o, 'lease'), reason: text(o, 'reason', 2 * LIMITS.text), at: time(o, 'at') }),
  result: (o) => ({
    op: 'result', lease: lease(o, 'lease'), outcome: outcome(o, 'outcome'),
    junitFile: nullable(o, 'junitFile', (x, k) => text(x, k, LIMITS.printable)),
    ...(o.artifacts === undefined ? {} : { artifacts: nullable(o, 'artifacts', artifactsKept) }), at: time(o, 'at'),
    ...(o.generated === undefined ? {} : { generated: generated(o, 'generated') }),
  }),
  cancel: (o) => ({ op: 'cancel', key: key(o, 'key'), by: who(o, 'by'), at: time(o, 'at') }),
  retry: (o) => ({
    op: 'retry', build: buildRecord(o, 'build'), job: nullable(o, 'job', plainName),
    ...(o.jobs === undefined ? {} : { jobs: list(o, 'jobs', 10 * LIMITS.jobsPerBuild, plainName) }), by: who(o, 'by'), at: time(o, 'at'),
  }),
  written: (o) => ({ op: 'written', key: key(o, 'key'), ...(o.run === undefined ? {} : { run: int(o, 'run', 1, Number.MAX_SAFE_INTEGER) }) }),
  command: (o) => ({ ...readCommand({ command: o }, 'command'), op: 'command' }),
  'command-done': (o) => ({
    op: 'command-done', id: requestId(o, 'id'), ok: bool(o, 'ok'), code: nullable(o, 'code', errorCode),
    message: text(o, 'message', LIMITS.text), commit: nullable(o, 'commit', commitId), at: time(o, 'at'),
  }),
  gate: (o) => ({
    op: 'gate', requests: list(o, 'requests', Number.MAX_SAFE_INTEGER, landRequest), batches: list(o, 'batches', Number.MAX_SAFE_INTEGER, batch),
    counts: gateCounts(o, 'counts'), at: time(o, 'at'),
  }),
  patch: (o) => ({ op: 'patch', patches: list(o, 'patches', Number.MAX_SAFE_INTEGER, patchEntry), counts: patchCounts(o, 'counts'), at: time(o, 'at') }),
  delivered: (o) => ({ op: 'delivered', ids: list(o, 'ids', Number.MAX_SAFE_INTEGER, itemId) }),
  pause: (o) => ({ op: 'pause', runner: plainName(o, 'runner'), paused: bool(o, 'paused'), by: who(o, 'by'), at: time(o, 'at') }),
};

function readRecord(value: unknown): JournalRecord {
  const fields = object({ record: value }, 'record');
  const op = oneOf(fields, 'op', OPS);
  return readers[op](fields);
}

function readSnapshot(value: unknown): Snapshot {
  const s = object({ state: value }, 'state');
  return {
    builds: list(s, 'builds', Number.MAX_SAFE_INTEGER, buildRecord),
    queue: list(s, 'queue', Number.MAX_SAFE_INTEGER, (x, k) => {
      const q = object(x, k);
      return { key: key(q, 'key'), job: plainName(q, 'job') };
    }),
    ...(s.commands === undefined ? {} : { commands: list(s, 'commands', Number.MAX_SAFE_INTEGER, readCommand) }),
    ...(s.commandCount === undefined ? {} : { commandCount: count(s, 'commandCount') }),
    ...(s.requests === undefined ? {} : { requests: list(s, 'requests', Number.MAX_SAFE_INTEGER, landRequest) }),
    ...(s.batches === undefined ? {} : { batches: list(s, 'batches', Number.MAX_SAFE_INTEGER, batch) }),
    ...(s.gateCounts === undefined ? {} : { gateCounts: gateCounts(s, 'gateCounts') }),
    ...(s.patches === undefined ? {} : { patches: list(s, 'patches', Number.MAX_SAFE_INTEGER, patchEntry) }),
    ...(s.patchCounts === undefined ? {} : { patchCounts: patchCounts(s, 'patchCounts') }),
    ...(s.outbox === undefined ? {} : { outbox: readOutbox(s, 'outbox') }),
    ...(s.paused === undefined ? {} : { paused: list(s, 'paused', Number.MAX_SAFE_INTEGER, plainName) }),
  };
}

export const DISPATCHER_JOURNAL: JournalFormat<Snapshot, JournalRecord> = { readRecord, readSnapshot };
