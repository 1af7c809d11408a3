// keel token ROLE [NAME]: prints the secret to give a runner, observer,
// read-only client, admin or patch submitter, derived from the master secret
// (KEEL_TOKEN or --token-file), alone on stdout, or writes it (0600) to --out
// FILE; a submitter token for NAME acts only as that name. It runs offline;
// the master never leaves this machine.

import { AUTH_ROLES, formatToken, type AuthRole } from '../common/auth.js';
import { ConfigError } from '../common/errors.js';
import { parseFlags } from '../common/flags.js';
import { loadSecurity } from '../common/security.js';
import { isName } from '../protocol/validate.js';
import { writeTokenFile } from './token-file.js';

export const TOKEN_USAGE = `usage: keel token ROLE [NAME] [--token-file MASTER] [--out FILE]

  ROLE               runner, observer, client (read-only), admin (the owner's) or submitter (patches only)
  NAME               for a submitter: the one name its token acts as (its patches are its own)
  --token-file FILE  the master secret (or KEEL_TOKEN)
  --out FILE         write the token to FILE, readable only by you (0600),
                     instead of printing it`;

export function token(argv: string[], env: NodeJS.ProcessEnv): number {
  if (argv.includes('--help')) {
    console.log(TOKEN_USAGE);
    return 0;
  }
  const parsed = parseFlags({ args: argv, strict: true, allowPositionals: true, options: { 'token-file': { type: 'string' }, out: { type: 'string' } } });
  const [role, name = null, ...extra] = parsed.positionals;
  if (!role || extra.length > 0 || !(AUTH_ROLES as readonly string[]).includes(role)) {
    throw new ConfigError(`ROLE must be one of ${AUTH_ROLES.join(', ')}, got "${parsed.positionals.join(' ')}"`);
  }
  if (name !== null && (role !== 'submitter' || !isName(name))) {
    throw new ConfigError(role !== 'submitter' ? 'only a submitter token takes a NAME (admins are named with keel admin add)' : `NAME must be a plain name (letters, digits, ".", "_", "-"), got "${name}"`);
  }
  const security = loadSecurity(parsed.values, env.KEEL_TOKEN);
  if (security.warning) process.stderr.write(`keel: warning: ${security.warning}\n`);
  const { secret } = security;
  if (secret?.kind !== 'master') throw new ConfigError('keel token needs the master secret in KEEL_TOKEN or --token-file');
  const derived = formatToken(secret.key, role as AuthRole, name);
  if (parsed.values.out === undefined) console.log(derived);
  else writeTokenFile(parsed.values.out, derived);
  return 0;
}
