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

const targetUsage = (tokens: string) => `  --dispatcher HOST:PORT  where the dispatcher listens (default 127.0.0.1:8888)
  --token-file FILE       the secret (or KEEL_TOKEN) when the dispatcher has one: ${tokens}
  --tls-ca FILE           trust this CA for the dispatcher's TLS certificate
  --tls-cert FILE, --tls-key FILE  a client certificate, when the dispatcher asks for one`;

/** For commands anyone with a secret may run (status, logs, notify, queue, patches). */
export const TARGET_USAGE = targetUsage('a client token (keel token client),\n                          an admin token, or the master');
/** For commands only admins may run (cancel, retry, build, admin, runner pause, land, try). */
export const ADMIN_TARGET_USAGE = targetUsage('an admin token (keel admin add NAME,\n                          keel token admin) or the master');
/** For keel patch: a submitter sends its own patches, an admin any. */
export const SUBMITTER_TARGET_USAGE = targetUsage('a submitter token (keel token submitter NAME),\n                          an admin token, or the master');

export interface Target {
  address: Address;
  security: Security;
}

/** The dispatcher's address and how to reach it; a warning about the token file goes to stderr here, once. */
export function parseTarget(values: { dispatcher: string } & Record<string, unknown>, env: NodeJS.ProcessEnv): Target {
  const address = parseAddress(values.dispatcher, '--dispatcher');
  const security = loadSecurity(values as Parameters<typeof loadSecurity>[0], env.KEEL_TOKEN);
  if (security.warning) process.stderr.write(`keel: warning: ${security.warning}\n`);
  return { address, security };
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
