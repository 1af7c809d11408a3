// Shared-secret authentication: an HMAC-SHA256 challenge-response inside the
// hello exchange, so the secret never crosses the wire.
//
// The dispatcher holds the master secret. Every other secret is derived from
// it and names what it may do, so a runner's secret cannot act as an observer
// or an admin:
//   role token   keel1:<role>:<hex>         runner, observer, client (read-only),
//                                           admin (the owner's: any name, always allowed),
//                                           submitter (patches: submit, retest, close its own)
//   admin token  keel1:admin:<name>:<hex>  one named admin, valid while listed
//   submitter token keel1:submitter:<name>:<hex>  one named submitter: it acts only as that name
// A peer given the master itself derives the role key for whatever it plays.

import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { ErrorCode, KeelError } from '../protocol/error-codes.js';

export const AUTH_ROLES = ['runner', 'observer', 'client', 'admin', 'submitter'] as const;
export type AuthRole = (typeof AUTH_ROLES)[number];

const DERIVED = /^keel1:(runner|observer|client|admin|submitter)(?::([A-Za-z0-9][A-Za-z0-9._-]{0,63}))?:([0-9a-f]{64})$/;
const MIN_MASTER_BYTES = 16;

export type Secret =
  | { kind: 'master'; key: Buffer }
  /** `name`: the one name a named token (an admin's, a submitter's) acts as; null for a role token. */
  | { kind: 'role'; role: AuthRole; name: string | null; key: Buffer };

export class TokenError extends KeelError {
  override readonly name = 'TokenError';

  constructor(message: string) {
    super(ErrorCode.badToken, message);
  }
}

export function parseSecret(text: string): Secret {
  const token = text.trim();
  const derived = DERIVED.exec(token);
  if (derived) {
    const role = derived[1] as AuthRole;
    const name = derived[2] ?? null;
    if (name !== null && !NAMED_ROLES.has(role)) throw new TokenError('only admin and submitter tokens carry a name');
    return { kind: 'role', role, name, key: Buffer.from(derived[3]!, 'hex') };
  }
  if (token.startsWith('keel1:')) throw new TokenError('the token looks like a Keel role token but is malformed');
  if (Buffer.byteLength(token) < MIN_MASTER_BYTES) {
    throw new TokenError(`the secret must be at least ${MIN_MASTER_BYTES} characters (try: openssl rand -hex 32)`);
  }
  return { kind: 'master', key: Buffer.from(token, 'utf8') };
}

function hmac(key: Buffer, text: string): Buffer {
  return createHmac('sha256', key).update(text).digest();
}

export function roleKey(master: Buffer, role: AuthRole): Buffer {
  return hmac(master, `keel-role-v1:${role}`);
}

/** Roles whose tokens may be for one name. */
export const NAMED_ROLES: ReadonlySet<AuthRole> = new Set(['admin', 'submitter']);

export function adminKey(master: Buffer, name: string): Buffer {
  return hmac(master, `keel-admin-v1:${name}`);
}

export function submitterKey(master: Buffer, name: string): Buffer {
  return hmac(master, `keel-submitter-v1:${name}`);
}

/** The token to hand to a peer of `role`, or to one named admin or submitter. */
export function formatToken(master: Buffer, role: AuthRole, name: string | null = null): string {
  if (name === null) return `keel1:${role}:${roleKey(master, role).toString('hex')}`;
  const key = role === 'submitter' ? submitterKey(master, name) : adminKey(master, name);
  return `keel1:${role === 'submitter' ? 'submitter' : 'admin'}:${name}:${key.toString('hex')}`;
}

/** The key a peer signs with when it plays `role` as `name`; throws when its secret is for another role. */
export function signingKey(secret: Secret, role: AuthRole, name: string): Buffer {
  if (secret.kind === 'master') return roleKey(secret.key, role);
  if (secret.role !== role) throw new TokenError(`this token is for the ${secret.role} role, not ${role}`);
  if (secret.name !== null && secret.name !== name) throw new TokenError(`this ${role} token is for ${secret.name}, not ${name}`);
  return secret.key;
}

export function newNonce(): string {
  return randomBytes(32).toString('base64url');
}

export function prove(key: Buffer, nonce: string, role: string, name: string): string {
  return hmac(key, `keel-auth-v1\n${nonce}\n${role}\n${name}`).toString('hex');
}

/** Constant-time check of a proof against each key that would be acceptable. */
export function verify(keys: Buffer[], nonce: string, role: string, name: string, proof: string): boolean {
  const given = Buffer.from(proof, 'hex');
  let ok = false;
  for (const key of keys) {
    const expected = Buffer.from(prove(key, nonce, role, name), 'hex');
    if (given.length === expected.length && timingSafeEqual(given, expected)) ok = true;
  }
  return ok;
}
