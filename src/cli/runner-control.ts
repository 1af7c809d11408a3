// keel runner pause NAME / keel runner resume NAME: a paused runner finishes
// the jobs it runs and takes no new one until resumed; the dispatcher keeps
// it paused through reconnects and restarts. Admins only.

import { ConfigError } from '../common/errors.js';
import { parseFlags } from '../common/flags.js';
import { isName } from '../protocol/validate.js';
import { request } from './client.js';
import { adminIdentity } from './identity.js';
import { ADMIN_TARGET_USAGE, parseTarget, TARGET_FLAGS } from './target.js';

export const RUNNER_CONTROL_USAGE = `usage: keel runner pause NAME [--as NAME]
       keel runner resume NAME [--as NAME]

  pause NAME              the runner of that name (its --name) finishes the jobs it
                          runs and takes no new one, whenever it is connected
  resume NAME             it takes jobs again
  --as NAME               the admin you act as (default: your admin token's name, or "owner")
${ADMIN_TARGET_USAGE}

exit status: 0 when done, 1 when there was nothing to do (resume of a runner
not paused), 2 for bad usage`;

export async function runnerControl(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  if (argv.includes('--help')) {
    console.log(RUNNER_CONTROL_USAGE);
    return 0;
  }
  const parsed = parseFlags({ args: argv, strict: true, allowPositionals: true, options: { ...TARGET_FLAGS, as: { type: 'string' } } });
  const [op, name, ...extra] = parsed.positionals;
  if (extra.length > 0 || name === undefined || !isName(name)) {
    throw new ConfigError(`keel runner ${op} takes one runner name (its --name), got "${parsed.positionals.slice(1).join(' ')}"`);
  }
  const target = parseTarget(parsed.values, env);
  const reply = await request(target.address, { type: 'pause', runner: name, paused: op === 'pause' }, 'done', {
    security: target.security, ...adminIdentity(target, parsed.values.as),
  });
  console.log(reply.message);
  return reply.ok ? 0 : 1;
}
