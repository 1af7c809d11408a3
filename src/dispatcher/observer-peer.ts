// Messages from an observer: `observe` first (its project and repository),
// then `commit`, `pong`, `command-result`, `heard` and `patch-read`. It
// speaks only for its own project: commits are its project's, an answer to
// another project's command is refused, and so is a read of its patches.

import type { Connection } from '../common/connection.js';
import type { Heartbeats } from '../common/heartbeat.js';
import { ErrorCode } from '../protocol/error-codes.js';
import type { Message } from '../protocol/messages.js';
import type { ObserverSessions } from './observer-sessions.js';
import type { Patches } from './patches/patches.js';
import type { Peer, PeerContext } from './peer.js';

export interface ObserverPeerParts {
  sessions: ObserverSessions;
  patches: Patches;
  heartbeats: Heartbeats<Connection>;
  context: PeerContext;
  log(message: string): void;
}

export function fromObserver(parts: ObserverPeerParts, peer: Peer, message: Message): void {
  const { sessions, context } = parts;
  if (message.type === 'observe') {
    if (peer.registered) return context.refuse(peer, ErrorCode.unexpected, 'already observing');
    const refusal = sessions.observe(peer.conn, peer.name, message);
    // The observer tries again with backoff; the holder may be gone by then.
    if (refusal) return void peer.conn.fail(refusal.code, refusal.message);
    peer.registered = true;
    peer.conn.send({ type: 'observing', project: message.project });
    parts.heartbeats.track(peer.conn);
    return;
  }
  if (!peer.registered) return context.refuse(peer, ErrorCode.unexpected, `expected observe, got ${message.type}`);
  switch (message.type) {
    case 'pong': return;
    case 'commit':
      // `queued` only once the commit is durable: the observer then forgets it.
      void sessions.commit(peer.conn, message.commit, message.ref).then(
        (added) => peer.conn.send({ type: 'queued', commit: message.commit, duplicate: !added }),
        (error: Error) => parts.log(`commit ${message.commit} not recorded: ${error.message}`),
      );
      return;
    case 'patch-read':
      void parts.patches.read(sessions.projectOf(peer.conn), message.patch, message.version, message.offset).then((chunk) => {
        if (chunk === null) return context.refuseQuietly(peer, ErrorCode.notYourProject, `${message.patch} v${message.version} is not a patch of this observer's project`);
        peer.conn.send({ type: 'patch-bytes', patch: message.patch, version: message.version, offset: message.offset, data: chunk.data.toString('base64'), end: chunk.end });
      }, (error: Error) => context.refuse(peer, ErrorCode.internal, `cannot read ${message.patch}: ${error.message}`));
      return;
    case 'command-result':
      void sessions.result(peer.conn, message).then((refusal) => {
        if (refusal) context.refuseQuietly(peer, refusal.code, refusal.message);
      }, (error: Error) => parts.log(`command ${message.id} not recorded: ${error.message}`));
      return;
    case 'heard':
      sessions.heard(peer.conn, message.id);
      return;
  }
}
