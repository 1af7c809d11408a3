// keel token ROLE: prints the secret to give a runner, observer, read-only
// client or admin, derived from the master secret (KEEL_TOKEN or --token-file),
// alone on stdout, or writes it (0600) to --out FILE. It runs offline; the
// master never leaves this machine.

import { AUTH_ROLES, formatToken, type AuthRole } from '../common/auth.js';
import { ConfigError } from '../common/errors.js';
import { parseFlags } from '../common/flags.js';
import { loadSecurity } from '../common/security.js';
import { writeTokenFile } from './token-file.js';

export const TOKEN_USAGE = `usage: keel token ROLE [--token-file MASTER] [--out FILE]

  ROLE               runner, observer, client (read-only) or admin (the owner's)
  --token-file FILE  the master secret (or KEEL_TOKEN)
  --out FILE         write the token to FILE, readable only by you (0600),
                     instead of printing it`;

export function token(argv: string[], env: NodeJS.ProcessEnv): number {
  if (argv.includes('--help')) {
    console.log(TOKEN_USAGE);
    return 0;
  }
  const parsed = parseFlags({ args: argv, strict: true, allowPositionals: true, options: { 'token-file': { type: 'string' }, out: { type: 'string' } } });
  const [role, ...extra] = parsed.positionals;
  if (!role || extra.length > 0 || !(AUTH_ROLES as readonly string[]).includes(role)) {
    throw new ConfigError(`ROLE must be one of ${AUTH_ROLES.join(', ')}, got "${parsed.positionals.join(' ')}"`);
  }
  const security = loadSecurity(parsed.values, env.KEEL_TOKEN);
  if (security.warning) process.stderr.write(`keel: warning: ${security.warning}\n`);
  const { secret } = security;
  if (secret?.kind !== 'master') throw new ConfigError('keel token needs the master secret in KEEL_TOKEN or --token-file');
  const derived = formatToken(secret.key, role as AuthRole);
  if (parsed.values.out === undefined) console.log(derived);
  else writeTokenFile(parsed.values.out, derived);
  return 0;
}
