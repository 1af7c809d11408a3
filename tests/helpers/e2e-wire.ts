// The one place end-to-end tests build protocol messages and drive raw
// peers: the handshake (with the challenge when the dispatcher has a secret),
// an observer reporting commits, a runner registering, a client querying.
// When a message's shape changes, only this file changes. Messages are built
// `as Message`, so a test can send ids and refs the types would not allow.
import { strict as assert } from 'node:assert';
import type { TestContext } from 'node:test';
import type { ConnectionOptions } from 'node:tls';
import { prove } from '../../src/common/auth.js';
import { PROTOCOL_VERSION, type Message, type MessageOf, type Role } from '../../src/protocol/messages.js';
import type { RunOutcome } from '../../src/protocol/records.js';
import { fullOutcome } from '../protocol/fixtures.js';
import { TestPeer } from './peer.js';

export const MAIN_REF = 'refs/heads/main';

export type Status = MessageOf<'status'>;
export type Queued = MessageOf<'queued'>;

export interface PeerOptions {
  /** The role key to answer the dispatcher's challenge with (which may be a wrong one). */
  key?: Buffer;
  /** Connect over TLS with these options (at least the CA). */
  tls?: ConnectionOptions;
}

export function helloMessage(role: Role, name: string): Message {
  return { type: 'hello', version: PROTOCOL_VERSION, role, name };
}

/** The answer to a challenge: `proof` is usually `prove(key, nonce, role, name)`. */
export function authMessage(proof: string): Message {
  return { type: 'auth', proof };
}

/** A connection that says nothing yet; closed when the test ends. */
export async function connectRaw(t: TestContext, port: number, tls?: ConnectionOptions): Promise<TestPeer> {
  const peer = await TestPeer.connect(port, tls);
  t.after(() => peer.close());
  return peer;
}

/** hello and, with a key, the challenge answered with it; does not wait for welcome. */
export async function sayHello(t: TestContext, port: number, role: Role, name: string, options: PeerOptions = {}): Promise<TestPeer> {
  const peer = await connectRaw(t, port, options.tls);
  peer.send(helloMessage(role, name));
  if (options.key) {
    const { nonce } = await peer.next('challenge');
    peer.send(authMessage(prove(options.key, nonce, role, name)));
  }
  return peer;
}

/** A peer admitted as `role`: hello (and auth) answered by welcome. */
export async function connectAs(t: TestContext, port: number, role: Role, name = `e2e-${role}`, options: PeerOptions = {}): Promise<TestPeer> {
  const peer = await sayHello(t, port, role, name, options);
  await peer.next('welcome');
  return peer;
}

/** Expects an `error` with `code`, and the dispatcher closing the connection after it. */
export async function expectRefused(peer: TestPeer, code: string): Promise<void> {
  const error = await peer.next('error');
  assert.equal(error.code, code, `expected ${code}, got ${error.code}: ${error.message}`);
  await peer.closed;
  assert.ok(peer.isClosed, `the dispatcher closes the connection after ${code}`);
}

// ---------------------------------------------------------------------------
// Observers

/** What an observer reports commits of. */
export interface CommitSource {
  repo: string;
  project?: string | null;
  supersede?: boolean;
}

export function commitMessage(commit: string, ref: string): Message {
  return { type: 'commit', commit, ref } as Message;
}

/** An observer's registration: the project it speaks for and what runners fetch from. */
export function observeMessage(source: CommitSource): Message {
  return { type: 'observe', project: source.project ?? null, repo: source.repo, supersede: source.supersede ?? false } as Message;
}

/** A raw observer connection that reports commits of one source. */
export class ObserverPeer {
  constructor(readonly peer: TestPeer, readonly source: CommitSource) {}

  /** Sends a commit without waiting for the answer. */
  send(commit: string, ref = MAIN_REF): void {
    this.peer.send(commitMessage(commit, ref));
  }

  /** Reports a commit; resolves with the dispatcher's `queued` once it has the commit in its journal. */
  async report(commit: string, ref = MAIN_REF): Promise<Queued> {
    this.send(commit, ref);
    const queued = await this.peer.next('queued');
    assert.equal(queued.commit, commit);
    return queued;
  }
}

/** An admitted observer of `source`, registered for its project. */
export async function connectObserver(t: TestContext, port: number, source: CommitSource, options: PeerOptions & { name?: string } = {}): Promise<ObserverPeer> {
  const peer = await connectAs(t, port, 'observer', options.name ?? 'e2e-observer', options);
  peer.send(observeMessage(source));
  await peer.next('observing');
  peer.answerPings();
  return new ObserverPeer(peer, source);
}

// ---------------------------------------------------------------------------
// Clients

export function adminsMessage(op: 'list' | 'add' | 'remove', name: string | null): Message {
  return { type: 'admins', op, name } as Message;
}

export function queryMessage(commit: string | null, project: string | null = null): Message {
  return { type: 'query', commit, project } as Message;
}

/** One build (`commit`) or the overview (`null`), as the dispatcher answers a client. */
export async function query(peer: TestPeer, commit: string | null = null, project: string | null = null): Promise<Status> {
  peer.send(queryMessage(commit, project));
  return peer.next('status');
}

// ---------------------------------------------------------------------------
// Runners

export interface RunnerSpec {
  name: string;
  slots?: number;
  labels?: string[];
  leases?: string[];
}

export function registerMessage(spec: RunnerSpec): Message {
  return { type: 'register', name: spec.name, slots: spec.slots ?? 1, labels: spec.labels ?? [], leases: spec.leases ?? [] };
}

/** A registered runner that answers pings, so it stays alive while the test drives it. */
export async function connectRunner(t: TestContext, port: number, spec: RunnerSpec, options: PeerOptions = {}): Promise<TestPeer> {
  const peer = await connectAs(t, port, 'runner', spec.name, options);
  peer.send(registerMessage(spec));
  await peer.next('registered');
  return peer.answerPings();
}

export function outputMessage(lease: string, data: string, stream: 'stdout' | 'stderr' = 'stdout'): Message {
  return { type: 'output', lease, stream, data };
}

export function resultMessage(lease: string, outcome: RunOutcome = passedOutcome()): Message {
  return { type: 'result', lease, outcome } as Message;
}

/** A passing outcome; built on the fixture so it keeps up with RunOutcome's fields. */
export function passedOutcome(): RunOutcome {
  return { ...fullOutcome, status: 'passed', exitCode: 0, startedAt: new Date().toISOString(), command: ['true'], message: '', counts: null };
}
