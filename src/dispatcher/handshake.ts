// Admitting a connection: `hello`, and when the dispatcher has a secret, a
// challenge the peer must answer with an HMAC of it under the key of the role
// it claims. Nothing a peer sends before it is admitted is acted on.

import { adminKey, newNonce, roleKey, submitterKey, verify, type Secret } from '../common/auth.js';
import { PROTOCOL_VERSION, type Message, type Role } from '../protocol/messages.js';
import type { ErrorCode } from '../protocol/error-codes.js';
import type { AdminList } from './admins.js';

export interface Admitted {
  role: Role;
  name: string;
}

export type Step =
  | { kind: 'reply'; message: Message }
  | { kind: 'admit'; peer: Admitted }
  | { kind: 'refuse'; code: ErrorCode; message: string };

export class Handshake {
  private pending: (Admitted & { nonce: string }) | null = null;

  constructor(private readonly secret: Secret | null, private readonly admins: AdminList) {}

  step(message: Message): Step {
    if (this.pending === null) {
      if (message.type !== 'hello') return { kind: 'refuse', code: 'unexpected', message: `expected hello first, got ${message.type}` };
      if (message.version !== PROTOCOL_VERSION) {
        return { kind: 'refuse', code: 'version-mismatch', message: `protocol version ${message.version} is not supported; this dispatcher speaks ${PROTOCOL_VERSION}` };
      }
      const peer = { role: message.role, name: message.name };
      if (this.secret === null) return { kind: 'admit', peer };
      this.pending = { ...peer, nonce: newNonce() };
      return { kind: 'reply', message: { type: 'challenge', nonce: this.pending.nonce } };
    }
    if (message.type !== 'auth') return { kind: 'refuse', code: 'unexpected', message: `expected auth, got ${message.type}` };
    const { role, name, nonce } = this.pending;
    if (!verify(this.acceptableKeys(role, name), nonce, role, name, message.proof)) {
      const admin = role === 'admin' && name !== 'owner' ? `, or is the token of an admin (${name}) not on its list` : '';
      return { kind: 'refuse', code: 'auth-failed', message: `this secret is not derived from the dispatcher's master${admin} (authenticating as ${role})` };
    }
    return { kind: 'admit', peer: { role, name } };
  }

  /** The role's key; for an admin also the named admin's own key while listed; for a submitter its name's own key. */
  private acceptableKeys(role: Role, name: string): Buffer[] {
    const master = this.secret!.key;
    const keys = [roleKey(master, role)];
    if (role === 'admin' && this.admins.has(name)) keys.push(adminKey(master, name));
    if (role === 'submitter') keys.push(submitterKey(master, name));
    return keys;
  }
}
