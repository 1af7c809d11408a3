// Messages from clients and admins: `query`, `find-commit`, `history`, `logs` and `notify` for anyone,
// `admins`, `cancel`, `cancel-many`, `retry`, `build` and `pause` for admins (the role gate is the
// server's). Nothing is shown that is not durable: a query is answered once
// the journal holds everything it shows, and while the journal cannot be
// written it is refused with the reason. A query that fails is refused with
// `internal`; it never stops the dispatcher.

import { formatToken } from '../common/auth.js';
import type { Log } from '../common/log.js';
import { trace } from '../common/log.js';
import type { Security } from '../common/security.js';
import { ErrorCode } from '../protocol/error-codes.js';
import type { Message, Status } from '../protocol/messages.js';
import { PUSH, type BuildRecord, type BuildSummary, type ScalingSummary } from '../protocol/records.js';
import { LIMITS } from '../protocol/limits.js';
import type { AdminList } from './admins.js';
import type { BranchRecent } from './branch-recent.js';
import type { BuildIndex } from './build-index.js';
import type { BuildCommands } from './commands.js';
import type { Gate } from './gate/gate.js';
import { queueOf, summariseRequest } from './gate/summary.js';
import { branchHistory } from './history.js';
import type { Patches } from './patches/patches.js';
import { listPatches, recordOf } from './patches/query.js';
import type { PatchUploads } from './patches/upload.js';
import type { Reply } from './reply.js';
import type { Journal } from './journal.js';
import { followLogs, type LogPeerParts } from './log-peer.js';
import type { ObserverSessions } from './observer-sessions.js';
import type { Peer, PeerContext } from './peer.js';
import { LINE_BUDGET, overview, recordReply, summarise, within, withWaitReasons } from './queries.js';
import { pauseRunner } from './runner-pause.js';
import { cancelMany } from './bulk-cancel.js';
import { findCommit } from './find-commit.js';
import { buildKey, keyOf } from './records.js';
import type { ResultStore } from './result-store.js';
import type { RunnerRegistry } from './runner-registry.js';
import type { Scheduler } from './scheduler.js';

export interface ClientPeerParts {
  scheduler: Scheduler;
  runners: RunnerRegistry;
  results: ResultStore;
  commands: BuildCommands;
  gate: Gate;
  patches: Patches;
  uploads: PatchUploads;
  observers: ObserverSessions;
  admins: AdminList;
  security: Security;
  journal: Pick<Journal<unknown, object>, 'synced' | 'stalled'>;
  context: PeerContext;
  log: Log;
  index: BuildIndex;
  /** For `logs`: finding builds, their live logs and the changes that end them. */
  logs: Omit<LogPeerParts, 'context' | 'journal' | 'results'>;
  /** Runners started on demand, when the dispatcher starts any. */
  scaling?: () => ScalingSummary;
}

export function fromClient(parts: ClientPeerParts, peer: Peer, message: Message): void {
  const by = `${peer.role} ${peer.name}`;
  const answer = (work: Promise<Reply>) => {
    peer.busy += 1;
    void work.then(
      (reply) => peer.conn.send({ type: 'done', ...reply }),
      (error: Error) => peer.conn.send({ type: 'done', ok: false, code: ErrorCode.internal, message: error.message, request: null }),
    ).finally(() => (peer.busy -= 1));
  };
  switch (message.type) {
    case 'notify': return notifyObservers(parts, peer);
    case 'admins': return void manageAdmins(parts, peer, message.op, message.name);
    case 'cancel': return answer(parts.commands.cancel(message.project, message.commit, by));
    case 'retry': return answer(parts.commands.retry(message.project, message.commit, message.job, by));
    case 'build': return answer(parts.commands.build(message.project, message.ref !== null ? { ref: message.ref } : { commit: message.commit! }, by));
    case 'cancel-many': return void cancelMany(parts.commands, parts.scheduler.state, message, by).then(
      (reply) => peer.conn.send(reply),
      (error: Error) => parts.context.refuse(peer, ErrorCode.internal, error.message),
    );
    case 'find-commit': return void findCommit(parts.scheduler.state, parts.results, message.project, message.prefix).then(
      (reply) => peer.conn.send(reply),
      (error: Error) => parts.context.refuse(peer, ErrorCode.internal, error.message),
    );
    case 'pause': return answer(pauseRunner(parts, message.runner, message.paused, by));
    case 'land': return answer(parts.gate.submit(message, by));
    case 'land-cancel': return answer(parts.gate.cancel(message.request, by));
    case 'land-wait': return answer(parts.gate.wait(message.request));
    case 'patch': {
      if (parts.uploads.isReceiving(peer)) return parts.context.refuse(peer, ErrorCode.unexpected, 'a patch is already being sent on this connection');
      const refusal = parts.uploads.start(peer, message);
      if (refusal) return answer(Promise.resolve(refusal));
      // Not idle while its bytes come.
      peer.busy += 1;
      return;
    }
    case 'patch-data': {
      if (!parts.uploads.isReceiving(peer)) return parts.context.refuse(peer, ErrorCode.unexpected, 'patch-data without a patch before it');
      const chunked = parts.uploads.data(peer, message.data);
      if (chunked.kind === 'more') return;
      peer.busy -= 1;
      const actor = { by, admin: peer.role === 'admin' };
      return answer(chunked.kind === 'refused' ? Promise.resolve(chunked.reply) : parts.patches.submit(chunked.meta, chunked.bytes, actor));
    }
    case 'patch-op': return answer(parts.patches.op(message.patch, message.op, message.flag, { by, admin: peer.role === 'admin' }));
    case 'patches':
      peer.conn.send({ type: 'patch-list', ...listPatches(parts.scheduler.state.patches.values(), message, Date.now()) });
      return;
    case 'patch-show': {
      const entry = parts.scheduler.state.patches.get(message.patch);
      peer.conn.send({ type: 'patch-record', ...(entry ? recordOf(entry) : { record: null, note: `no patch ${message.patch} is known` }) });
      return;
    }
    case 'queue': {
      const ordered = queueOf(parts.scheduler.state.requests.values());
      const shown = ordered.slice(0, LIMITS.queueRequests).map(summariseRequest);
      peer.conn.send({ type: 'land-queue', requests: shown, omitted: ordered.length - shown.length });
      return;
    }
    case 'logs': return followLogs({ ...parts.logs, results: parts.results, journal: parts.journal, context: parts.context }, peer, message);
    case 'history':
      return answerQuery(parts, peer, async () => ({ type: 'history-page', ...(await branchHistory(parts.scheduler.state, parts.index, message)) }));
    case 'query':
      return answerQuery(parts, peer, async () => {
        const status = await query(parts, message.commit, message.project);
        return parts.scaling ? { ...status, scaling: parts.scaling() } : status;
      });
  }
}

/** A read-only answer, once the journal holds everything it shows; refused while it cannot be written. */
function answerQuery(parts: ClientPeerParts, peer: Peer, ask: () => Promise<Message>): void {
  peer.busy += 1;
  void ready(parts).then(ask).then(
    (reply) => peer.conn.send(reply),
    (error: Error) => {
      parts.log(`query failed: ${error.message}`);
      trace('%s', error.stack);
      parts.context.refuse(peer, error instanceof StalledError ? ErrorCode.journalStalled : ErrorCode.internal, error.message);
    },
  ).finally(() => (peer.busy -= 1));
}

class StalledError extends Error {}

/** Half the room a status line keeps beside its builds and runners. */
const HEADS_BUDGET = (LIMITS.lineBytes - LINE_BUDGET) / 2;

/** Each branch's newest finished build, as many as fit the room a status line keeps spare. */
function branchHeads(recent: BranchRecent, project: string | null): BuildSummary[] {
  const heads = recent.newest(LIMITS.overviewHeads, project ?? undefined).flatMap((branch) => branch.builds.slice(0, 1));
  return within(heads, HEADS_BUDGET, LIMITS.overviewHeads).shown;
}

async function ready(parts: ClientPeerParts): Promise<void> {
  const { journal } = parts;
  if (journal.stalled) {
    throw new StalledError(`the dispatcher cannot write its journal (${journal.stalled.message}); what it would show is not recorded yet. It keeps trying; work resumes by itself once it can write`);
  }
  await journal.synced();
}

async function query(parts: ClientPeerParts, commit: string | null, project: string | null): Promise<Status> {
  const { scheduler, runners } = parts;
  const { state } = scheduler;
  const now = Date.now();
  const all = overview(state, runners, now, scheduler);
  if (commit === null) return { ...all, heads: branchHeads(parts.index.recent, project) };
  const key = buildKey(project, PUSH, commit);
  const known: BuildRecord | null = state.builds.get(key) ?? state.recent.find((build) => keyOf(build) === key)
    ?? (await parts.results.readResult({ project, subject: PUSH, commit }));
  if (!known) return { ...all, builds: [], omitted: 0 };
  const shown = all.builds.find((build) => build.commit === known.commit && build.project === known.project)
    ?? summarise(known, state.unwritten.has(key));
  return recordReply({ ...all, builds: [shown], omitted: 0 }, withWaitReasons(known, state, scheduler, now));
}

/** `keel admin`: list, add or remove the names allowed to act as admin. */
async function manageAdmins(parts: ClientPeerParts, peer: Peer, op: 'list' | 'add' | 'remove', name: string | null): Promise<void> {
  const { admins, security, log, context } = parts;
  if (op !== 'list' && name === null) return context.refuse(peer, ErrorCode.badField, `admins ${op} needs a name`);
  try {
    if (op === 'add') await admins.add(name!);
    if (op === 'remove') await admins.remove(name!);
  } catch (error) {
    return context.refuse(peer, ErrorCode.adminsFailed, `could not save the admin list: ${(error as Error).message}`);
  }
  if (op !== 'list') log(`admin ${peer.name} ${op === 'add' ? 'added' : 'removed'} admin ${name}`);
  const token = op === 'add' && security.secret ? formatToken(security.secret.key, 'admin', name) : null;
  peer.conn.send({ type: 'admin-list', names: admins.list(), token });
}

/** `keel notify` (e.g. from a post-receive hook): every observer scans now. */
function notifyObservers(parts: ClientPeerParts, peer: Peer): void {
  let observers = 0;
  for (const observer of parts.observers.all()) {
    if (observer.peer.send({ type: 'scan' })) observers += 1;
  }
  parts.log(`notify from ${peer.conn.remote}: asked ${observers} observer(s) to scan`);
  peer.conn.send({ type: 'notified', observers });
}
