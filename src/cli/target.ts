// The flags every query command shares: where the dispatcher is and how to
// reach it safely.

import { parseAddress, type Address } from '../common/address.js';
import { ConfigError } from '../common/errors.js';
import { isName, isRefName } from '../protocol/validate.js';
import { loadSecurity, SECURITY_FLAGS, type Security } from '../common/security.js';

export const TARGET_FLAGS = {
  dispatcher: { type: 'string', default: '127.0.0.1:8888' },
  ...SECURITY_FLAGS,
} as const;

export const TARGET_USAGE = `  --dispatcher HOST:PORT  where the dispatcher listens (default 127.0.0.1:8888)
  --token-file FILE       the secret (or KEEL_TOKEN): a client, admin or master token
  --tls-ca FILE           trust this CA for the dispatcher's TLS certificate
  --tls-cert FILE, --tls-key FILE  a client certificate, when the dispatcher asks for one`;

export interface Target {
  address: Address;
  security: Security;
}

export function parseTarget(values: { dispatcher: string } & Record<string, unknown>, env: NodeJS.ProcessEnv): Target {
  return {
    address: parseAddress(values.dispatcher, '--dispatcher'),
    security: loadSecurity(values as Parameters<typeof loadSecurity>[0], env.KEEL_TOKEN),
  };
}

/** --project NAME, as the observer was given it. */
export function parseProject(value: string | undefined): string | null {
  if (value === undefined) return null;
  if (!isName(value)) throw new ConfigError(`--project must be a plain name (letters, digits, ".", "_", "-"), got "${value}"`);
  return value;
}

/** The admin a command acts as: --as, else the admin token's own name, else "owner" (the master secret). */
export function adminName(as: string | undefined, target: Target): string {
  const secret = target.security.secret;
  return as ?? (secret?.kind === 'role' ? secret.name : null) ?? 'owner';
}

/** A branch as the user types it (main, release/1.x, refs/heads/main) as a full ref name; null when it is not one. */
export function branchRef(name: string | undefined): string | null {
  if (name === undefined || name.startsWith('-')) return null;
  const ref = name.startsWith('refs/') ? name : `refs/heads/${name}`;
  return isRefName(ref) ? ref : null;
}
