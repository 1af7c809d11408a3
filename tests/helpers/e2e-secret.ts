// The master secret secured end-to-end dispatchers run with (as KEEL_TOKEN),
// and the keys derived from it, for peers that answer its challenge.
import { randomBytes } from 'node:crypto';
import { parseSecret, roleKey, type AuthRole } from '../../src/common/auth.js';

/** Not hex, so its hex and base64 forms are distinct strings to look for on the wire. */
export const MASTER = `keel-test-master-${randomBytes(18).toString('base64url')}`;
export const MASTER_KEY = parseSecret(MASTER).key;

/** The key a token (or a master) proves with. */
export function keyOf(token: string): Buffer {
  return parseSecret(token).key;
}

/** The role key the owner's master gives `role`. */
export function keyFor(role: AuthRole): Buffer {
  return roleKey(MASTER_KEY, role);
}

/** A master secret that is not ours. */
export function otherMasterKey(prefix = 'another-master'): Buffer {
  return keyOf(`${prefix}-${randomBytes(12).toString('hex')}`);
}
