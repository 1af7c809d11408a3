// keel admin list | add NAME | remove NAME: who may act as admin. Needs an
// admin token or the master secret. `add` prints the new admin's token alone
// on stdout (or writes it, 0600, to --out FILE), so `keel admin add alice >
// alice.token` makes a token file; every other word goes to stderr.

import { ConfigError } from '../common/errors.js';
import { parseFlags } from '../common/flags.js';
import { ADMIN_OPS, type AdminOp } from '../protocol/messages.js';
import { isName } from '../protocol/validate.js';
import { request } from './client.js';
import { adminIdentity } from './identity.js';
import { ADMIN_TARGET_USAGE, parseTarget, TARGET_FLAGS } from './target.js';
import { writeTokenFile } from './token-file.js';

export const ADMIN_USAGE = `usage: keel admin list | add NAME [--out FILE] | remove NAME [--as NAME]

  list                    print the names of the admins, one per line
  add NAME                let NAME act as admin; prints NAME's token alone on stdout
                          (the dispatcher derives it from its master: shown once)
  remove NAME             NAME's token stops working
  --out FILE              add: write the token to FILE, readable only by you (0600)
  --as NAME               the admin you act as (default: the name in your admin token, or "owner")
${ADMIN_TARGET_USAGE}`;

export async function admin(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  if (argv.includes('--help')) {
    console.log(ADMIN_USAGE);
    return 0;
  }
  const parsed = parseFlags({
    args: argv, strict: true, allowPositionals: true, options: { ...TARGET_FLAGS, as: { type: 'string' }, out: { type: 'string' } },
  });
  const [op, name, ...extra] = parsed.positionals;
  if (!op || !(ADMIN_OPS as readonly string[]).includes(op) || extra.length > 0) {
    throw new ConfigError(`keel admin takes list, add NAME or remove NAME, got "${parsed.positionals.join(' ')}"`);
  }
  if (op === 'list' ? name !== undefined : name === undefined || !isName(name)) {
    throw new ConfigError(`NAME must be a plain name (letters, digits, ".", "_", "-") after ${op}, got "${name ?? ''}"`);
  }
  if (parsed.values.out !== undefined && op !== 'add') throw new ConfigError(`--out goes with add, not ${op}`);
  const target = parseTarget(parsed.values, env);
  const reply = await request(target.address, { type: 'admins', op: op as AdminOp, name: name ?? null }, 'admin-list', {
    security: target.security, ...adminIdentity(target, parsed.values.as),
  });
  const names = reply.names.length === 0 ? 'no admins listed (the owner, with the master secret, is always one)' : reply.names.join('\n');
  if (op === 'list') {
    console.log(names);
    return 0;
  }
  process.stderr.write(`admins now: ${reply.names.join(', ') || 'none listed'}\n`);
  if (op !== 'add') return 0;
  if (reply.token === null) {
    process.stderr.write(`the dispatcher has no secret, so ${name} needs no token\n`);
  } else if (parsed.values.out !== undefined) {
    writeTokenFile(parsed.values.out, reply.token);
    process.stderr.write(`wrote ${name}'s token to ${parsed.values.out} (readable only by you); give it to them: it is shown once\n`);
  } else {
    process.stderr.write(`${name}'s token follows on stdout; give it to them: it is shown once\n`);
    console.log(reply.token);
  }
  return 0;
}
