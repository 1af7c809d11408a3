// One admitted (or not yet admitted) connection as the server sees it, and
// what the per-role handlers may do with it.

import type { Connection } from '../common/connection.js';
import type { ErrorCode } from '../protocol/error-codes.js';
import type { Role } from '../protocol/messages.js';
import type { Handshake } from './handshake.js';

export interface Peer {
  conn: Connection;
  handshake: Handshake;
  /** The remote address, for the pending-per-source limit. */
  source: string;
  role: Role | null;
  name: string;
  /** A runner has registered, an observer is observing. */
  registered: boolean;
  /** Bad messages so far. */
  errors: number;
  /** Codes already logged for this peer: a peer repeating one is logged once. */
  warned: Set<ErrorCode>;
  /** Requests of a client still being answered: it is not idle meanwhile. */
  busy: number;
  /** Bytes of an unfinished line last counted for this peer. */
  buffered: number;
  idleTimer: NodeJS.Timeout | null;
}

/** What a role's handler gets from the server. */
export interface PeerContext {
  /** An `error` reply; the connection stays up to --max-errors (closes at once before admission). */
  refuse(peer: Peer, code: ErrorCode, message: string): void;
  /** Like refuse, but logged only the first time this peer earns `code`. */
  refuseQuietly(peer: Peer, code: ErrorCode, message: string): void;
}
