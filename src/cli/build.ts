// keel build BRANCH: build a branch's head now, without a push (Buildbot's
// force build). Admins only. The dispatcher asks the project's observer
// where the branch points (a command it keeps in its journal until the
// observer answers), then queues that commit, or runs its build again when
// it has one. Exit 0 when that is done (or waits for an observer to
// connect), 1 when it could not be (no such branch), 2 for bad usage.

import { ConfigError } from '../common/errors.js';
import { parseFlags } from '../common/flags.js';
import { isRefName } from '../protocol/validate.js';
import { request } from './client.js';
import { adminIdentity } from './identity.js';
import { ADMIN_TARGET_USAGE, parseProject, parseTarget, TARGET_FLAGS } from './target.js';

export const BUILD_USAGE = `usage: keel build BRANCH [--project NAME] [--as NAME]

  BRANCH                  a branch of the observed repository (main, release/1.x)
  --project NAME          the observer's --project the branch belongs to
  --as NAME               the admin you act as (default: your admin token's name, or "owner")
${ADMIN_TARGET_USAGE}`;

/** Waiting for the observer to answer can take a git call or two more than a query. */
const BUILD_TIMEOUT_MS = 30_000;

export async function build(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  if (argv.includes('--help')) {
    console.log(BUILD_USAGE);
    return 0;
  }
  const parsed = parseFlags({ args: argv, strict: true, allowPositionals: true, options: { ...TARGET_FLAGS, project: { type: 'string' }, as: { type: 'string' } } });
  const [branch, ...extra] = parsed.positionals;
  const ref = branch?.startsWith('refs/') ? branch : `refs/heads/${branch}`;
  if (!branch || extra.length > 0 || branch.startsWith('-') || !isRefName(ref)) {
    throw new ConfigError(`BRANCH must be one branch name that passes git check-ref-format, got "${parsed.positionals.join(' ')}"`);
  }
  const project = parseProject(parsed.values.project);
  const target = parseTarget(parsed.values, env);
  const reply = await request(target.address, { type: 'build', ref, project }, 'done', {
    security: target.security, ...adminIdentity(target.security.secret, parsed.values.as), timeoutMs: BUILD_TIMEOUT_MS,
  });
  console.log(reply.message);
  return reply.ok ? 0 : 1;
}
