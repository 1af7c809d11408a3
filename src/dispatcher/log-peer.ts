// `keel logs` over the protocol: a client's `logs` gets `log-progress`, the
// log of each job asked for in `log` chunks (each job's in order, read by a
// LogFollower as the status page's are), then `log-end`. With `follow` it
// lasts until those jobs have ended (and, following every job, those a
// generator prints as they join the build), sending a `log-progress` when
// the build changes (at most once a second) and at least every
// FOLLOW_KEEPALIVE_MS.
// The client stays busy meanwhile, so it is not closed as idle; a client
// that stops reading is not buffered for (see log-follower.ts).

import { ErrorCode } from '../protocol/error-codes.js';
import { FOLLOW_KEEPALIVE_MS, type Logs } from '../protocol/messages.js';
import type { BuildSummary, JobRecord } from '../protocol/records.js';
import type { BuildLookup } from './build-lookup.js';
import type { Changes } from './changes.js';
import type { Journal } from './journal.js';
import type { LiveLogs } from './live-logs.js';
import { LogFollower, type FollowSink } from './log-follower.js';
import type { Peer, PeerContext } from './peer.js';
import { summarise } from './queries.js';
import type { ResultStore } from './result-store.js';

export interface LogPeerParts {
  lookup: BuildLookup;
  logs: LiveLogs;
  results: ResultStore;
  changes: Changes;
  journal: Pick<Journal<unknown, object>, 'synced' | 'stalled'>;
  context: PeerContext;
}

const PROGRESS_EVERY_MS = 1000;
/** A connection follows one build at a time. */
const following = new WeakSet<Peer>();

export function followLogs(parts: LogPeerParts, peer: Peer, request: Logs): void {
  if (following.has(peer)) return parts.context.refuse(peer, ErrorCode.busy, 'this connection already follows a log');
  following.add(peer);
  peer.busy += 1;
  void sendLogs(parts, peer, request)
    .catch(() => {})
    .finally(() => {
      following.delete(peer);
      peer.busy -= 1;
    });
}

async function sendLogs(parts: LogPeerParts, peer: Peer, request: Logs): Promise<void> {
  const { lookup, journal, context } = parts;
  const { project, commit } = request;
  if (journal.stalled) return context.refuse(peer, ErrorCode.journalStalled, `the dispatcher cannot write its journal (${journal.stalled.message})`);
  await journal.synced();
  const found = await lookup.find(project, commit);
  if (!found) return context.refuse(peer, ErrorCode.unknownBuild, `no build of ${commit} is known`);
  const jobs = found.build.jobs.filter((job) => request.job === null || job.name === request.job);
  // A build with no jobs at all (a bad keel.json) has no log: its progress and end say why.
  if (request.job !== null && jobs.length === 0) {
    return context.refuse(peer, ErrorCode.unknownJob, `${commit} has no job ${request.job}; its jobs are ${found.build.jobs.map((job) => job.name).join(', ') || 'none'}`);
  }
  const conn = peer.conn;
  const summary = async (): Promise<BuildSummary> => {
    const now = (await lookup.find(project, commit)) ?? found;
    return summarise(now.build, now.unwritten);
  };
  let shown = await summary();
  conn.send({ type: 'log-progress', build: shown });

  const followers = new Map<string, LogFollower>();
  const runs: Array<Promise<unknown>> = [];
  const follow = (job: JobRecord) => {
    if (followers.has(job.name)) return;
    const sink: FollowSink = {
      chunk: (offset, data) => conn.send({ type: 'log', job: job.name, offset, data: data.toString('utf8') }),
      drained: () => drained(conn),
    };
    const ended = request.follow ? lookup.jobEnded(project, commit, job.name) : async () => job.status;
    const follower = new LogFollower({ logs: parts.logs, path: parts.results.logPath(found.build, job.log), ended }, 0, sink);
    followers.set(job.name, follower);
    runs.push(follower.run().catch(() => null));
  };
  jobs.forEach(follow);
  // Following every job: those a generator prints join the build as it passes, and are followed too.
  const followNew = async () => {
    if (!request.follow || request.job !== null || !conn.isOpen) return;
    (await lookup.find(project, commit))?.build.jobs.forEach(follow);
  };
  let last = Date.now();
  let timer: NodeJS.Timeout | null = null;
  const progress = () => {
    timer = null;
    void summary().then((now) => {
      const changed = JSON.stringify(now) !== JSON.stringify(shown);
      if (!changed && Date.now() - last < FOLLOW_KEEPALIVE_MS) return;
      shown = now;
      last = Date.now();
      conn.send({ type: 'log-progress', build: now });
    });
  };
  const stopListening = parts.changes.listen(() => {
    for (const follower of followers.values()) follower.wake();
    void followNew();
    timer ??= setTimeout(progress, Math.max(0, PROGRESS_EVERY_MS - (Date.now() - last)));
  });
  const keepAlive = setInterval(progress, FOLLOW_KEEPALIVE_MS);
  void conn.closed.then(() => followers.forEach((follower) => follower.stop()));
  try {
    for (let waited = 0; waited < runs.length;) {
      waited = runs.length;
      await Promise.all(runs);
      await followNew();
    }
  } finally {
    stopListening();
    clearInterval(keepAlive);
    if (timer) clearTimeout(timer);
  }
  if (!conn.isOpen) return;
  await journal.synced();
  conn.send({ type: 'log-end', build: await summary() });
}

/** Resolves once the connection has written what it holds; rejects when it closes first. */
function drained(conn: Peer['conn']): Promise<void> {
  if (!conn.needsDrain) return Promise.resolve();
  return new Promise((resolve, reject) => {
    conn.onDrain(resolve);
    void conn.closed.then(() => reject(new Error('connection closed')));
  });
}
