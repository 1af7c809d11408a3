// The observers connected now, one per project: the project's observer is
// the one process that writes to its repository, so a second observer of a
// live project is refused (it may try again once the first is gone), and
// each observer speaks only of its own project.

import type { Message } from '../protocol/messages.js';

/** What the registry needs of an observer's connection. */
export interface ObserverPeer {
  send(message: Message): boolean;
  close(cause: Error | null): void;
}

export interface ObserverConn {
  project: string | null;
  /** What runners fetch this project's commits from. */
  repo: string;
  supersede: boolean;
  /** The name it gave in `hello`, for the log. */
  name: string;
  peer: ObserverPeer;
}

/** Names cannot be empty, so '' never meets a real project. */
const slot = (project: string | null) => project ?? '';

export class ObserverRegistry {
  private readonly byProject = new Map<string, ObserverConn>();
  private readonly byPeer = new Map<ObserverPeer, ObserverConn>();

  /** Registers `conn`, or returns the live observer that already holds its project. */
  add(conn: ObserverConn): { added: true } | { added: false; holder: ObserverConn } {
    const holder = this.byProject.get(slot(conn.project));
    if (holder && holder.peer !== conn.peer) return { added: false, holder };
    this.byProject.set(slot(conn.project), conn);
    this.byPeer.set(conn.peer, conn);
    return { added: true };
  }

  remove(peer: ObserverPeer): ObserverConn | undefined {
    const conn = this.byPeer.get(peer);
    if (!conn) return undefined;
    this.byPeer.delete(peer);
    if (this.byProject.get(slot(conn.project)) === conn) this.byProject.delete(slot(conn.project));
    return conn;
  }

  of(peer: ObserverPeer): ObserverConn | undefined {
    return this.byPeer.get(peer);
  }

  forProject(project: string | null): ObserverConn | undefined {
    return this.byProject.get(slot(project));
  }

  all(): IterableIterator<ObserverConn> {
    return this.byProject.values();
  }
}
