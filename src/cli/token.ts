// keel token ROLE [NAME]: prints the secret to give a runner, observer,
// read-only client, admin or patch submitter, derived from the master secret
// (KEEL_TOKEN or --token-file); a submitter token for NAME acts only as that
// name. It runs offline; the master never leaves this machine.

import { AUTH_ROLES, formatToken, type AuthRole } from '../common/auth.js';
import { ConfigError } from '../common/errors.js';
import { parseFlags } from '../common/flags.js';
import { loadSecurity } from '../common/security.js';
import { isName } from '../protocol/validate.js';

export const TOKEN_USAGE = `usage: keel token ROLE [NAME] [--token-file MASTER]

  ROLE               runner, observer, client (read-only), admin or submitter (patches only)
  NAME               for a submitter: the one name its token acts as (its patches are its own)
  --token-file FILE  the master secret (or KEEL_TOKEN)`;

export function token(argv: string[], env: NodeJS.ProcessEnv): number {
  if (argv.includes('--help')) {
    console.log(TOKEN_USAGE);
    return 0;
  }
  const parsed = parseFlags({ args: argv, strict: true, allowPositionals: true, options: { 'token-file': { type: 'string' } } });
  const [role, name = null, ...extra] = parsed.positionals;
  if (!role || extra.length > 0 || !(AUTH_ROLES as readonly string[]).includes(role)) {
    throw new ConfigError(`ROLE must be one of ${AUTH_ROLES.join(', ')}, got "${parsed.positionals.join(' ')}"`);
  }
  if (name !== null && (role !== 'submitter' || !isName(name))) {
    throw new ConfigError(role !== 'submitter' ? 'only a submitter token takes a NAME (admins are named with keel admin add)' : `NAME must be a plain name (letters, digits, ".", "_", "-"), got "${name}"`);
  }
  const { secret } = loadSecurity(parsed.values, env.KEEL_TOKEN);
  if (secret?.kind !== 'master') throw new ConfigError('keel token needs the master secret in KEEL_TOKEN or --token-file');
  console.log(formatToken(secret.key, role as AuthRole, name));
  return 0;
}
