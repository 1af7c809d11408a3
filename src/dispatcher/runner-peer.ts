// Messages from a runner: `register` first, then `pong`, `drain`, `output`,
// `artifact` and `result`. Output, artifacts and results count only for
// leases this connection holds; anyone else's are refused with
// `not-your-lease` and change nothing.

import type { Heartbeats } from '../common/heartbeat.js';
import type { Connection } from '../common/connection.js';
import { ErrorCode } from '../protocol/error-codes.js';
import type { Message } from '../protocol/messages.js';
import type { Journal } from './journal.js';
import type { Peer, PeerContext } from './peer.js';
import type { RunnerSessions } from './runner-sessions.js';
import type { Scheduler } from './scheduler.js';

export interface RunnerPeerParts {
  scheduler: Scheduler;
  sessions: RunnerSessions;
  heartbeats: Heartbeats<Connection>;
  journal: Pick<Journal<unknown, object>, 'synced'>;
  context: PeerContext;
  /** Whether secrets may be sent over this runner's connection. */
  secure?(peer: Peer): boolean;
}

export function fromRunner(parts: RunnerPeerParts, peer: Peer, message: Message): void {
  const { scheduler, sessions, context } = parts;
  if (message.type === 'register') {
    if (peer.registered) return context.refuse(peer, ErrorCode.unexpected, 'already registered');
    peer.registered = true;
    peer.conn.send({ type: 'registered', name: message.name });
    sessions.register(peer.conn, { ...message, secure: parts.secure?.(peer) ?? false });
    parts.heartbeats.track(peer.conn);
    return;
  }
  if (!peer.registered) return context.refuse(peer, ErrorCode.unexpected, `expected register, got ${message.type}`);
  const notYours = (lease: string) => context.refuseQuietly(peer, ErrorCode.notYourLease, `lease ${lease} is not held by this connection`);
  switch (message.type) {
    case 'pong': return;
    case 'drain': return sessions.drain(peer.conn);
    case 'output':
      if (scheduler.output(peer.conn, message.lease, message.data) === 'not-yours') notYours(message.lease);
      return;
    case 'artifact': {
      const { verdict, why } = scheduler.artifact(peer.conn, message);
      if (verdict === 'not-yours') return notYours(message.lease);
      if (verdict === 'refused') context.refuseQuietly(peer, ErrorCode.badField, why!);
      return;
    }
    case 'result': {
      const { verdict, durable } = scheduler.result(peer.conn, message.lease, message.outcome);
      if (verdict === 'not-yours') return notYours(message.lease);
      // `recorded` only once the result (or the loss that made it stale) is durable: the runner then forgets it.
      const after = verdict === 'accepted' ? durable : parts.journal.synced();
      void after.then(() => peer.conn.send({ type: 'recorded', lease: message.lease, accepted: verdict === 'accepted' }), () => {});
      return;
    }
  }
}
