// The peer side of admission: the hello every peer sends, and the answer to
// the dispatcher's challenge when it requires a secret.

import { prove, signingKey, TokenError, type Secret } from './auth.js';
import { PROTOCOL_VERSION, type Auth, type Hello, type Role } from '../protocol/messages.js';

export function hello(role: Role, name: string): Hello {
  return { type: 'hello', version: PROTOCOL_VERSION, role, name };
}

/** The `auth` reply; throws TokenError when this peer has no secret, or one for another role. */
export function answerChallenge(nonce: string, secret: Secret | null, role: Role, name: string): Auth {
  if (secret === null) throw new TokenError('the dispatcher requires a secret: set KEEL_TOKEN or --token-file');
  return { type: 'auth', proof: prove(signingKey(secret, role, name), nonce, role, name) };
}
