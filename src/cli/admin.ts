// keel admin list | add NAME | remove NAME: who may act as admin. Needs an
// admin token or the master secret; `add` prints the new admin's token.

import { ConfigError } from '../common/errors.js';
import { parseFlags } from '../common/flags.js';
import { ADMIN_OPS, type AdminOp } from '../protocol/messages.js';
import { isName } from '../protocol/validate.js';
import { request } from './client.js';
import { adminName, parseTarget, TARGET_FLAGS, TARGET_USAGE } from './target.js';

export const ADMIN_USAGE = `usage: keel admin list | add NAME | remove NAME [--as NAME]

  --as NAME               the admin you act as (default: the name in your admin token, or "owner")
${TARGET_USAGE}`;

export async function admin(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  if (argv.includes('--help')) {
    console.log(ADMIN_USAGE);
    return 0;
  }
  const parsed = parseFlags({ args: argv, strict: true, allowPositionals: true, options: { ...TARGET_FLAGS, as: { type: 'string' } } });
  const [op, name, ...extra] = parsed.positionals;
  if (!op || !(ADMIN_OPS as readonly string[]).includes(op) || extra.length > 0) {
    throw new ConfigError(`keel admin takes list, add NAME or remove NAME, got "${parsed.positionals.join(' ')}"`);
  }
  if (op === 'list' ? name !== undefined : name === undefined || !isName(name)) {
    throw new ConfigError(`NAME must be a plain name (letters, digits, ".", "_", "-") after ${op}, got "${name ?? ''}"`);
  }
  const target = parseTarget(parsed.values, env);
  const as = adminName(parsed.values.as, target);
  const reply = await request(target.address, { type: 'admins', op: op as AdminOp, name: name ?? null }, 'admin-list', {
    security: target.security, role: 'admin', name: as,
  });
  console.log(reply.names.length === 0 ? 'no admins listed (the owner, with the master secret, is always one)' : reply.names.join('\n'));
  if (reply.token) console.log(`\ntoken for ${name} (give it to them; it is shown once):\n${reply.token}`);
  return 0;
}
