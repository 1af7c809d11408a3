// keel token ROLE: prints the secret to give a runner, observer, read-only
// client or admin, derived from the master secret (KEEL_TOKEN or --token-file).
// It runs offline; the master never leaves this machine.

import { AUTH_ROLES, formatToken, type AuthRole } from '../common/auth.js';
import { ConfigError } from '../common/errors.js';
import { parseFlags } from '../common/flags.js';
import { loadSecurity } from '../common/security.js';

export const TOKEN_USAGE = `usage: keel token ROLE [--token-file MASTER]

  ROLE               runner, observer, client (read-only) or admin
  --token-file FILE  the master secret (or KEEL_TOKEN)`;

export function token(argv: string[], env: NodeJS.ProcessEnv): number {
  if (argv.includes('--help')) {
    console.log(TOKEN_USAGE);
    return 0;
  }
  const parsed = parseFlags({ args: argv, strict: true, allowPositionals: true, options: { 'token-file': { type: 'string' } } });
  const [role, ...extra] = parsed.positionals;
  if (!role || extra.length > 0 || !(AUTH_ROLES as readonly string[]).includes(role)) {
    throw new ConfigError(`ROLE must be one of ${AUTH_ROLES.join(', ')}, got "${parsed.positionals.join(' ')}"`);
  }
  const { secret } = loadSecurity(parsed.values, env.KEEL_TOKEN);
  if (secret?.kind !== 'master') throw new ConfigError('keel token needs the master secret in KEEL_TOKEN or --token-file');
  console.log(formatToken(secret.key, role as AuthRole));
  return 0;
}
