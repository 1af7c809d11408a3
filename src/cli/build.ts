// keel build BRANCH|SHA: build a branch's head, or a commit on a branch,
// now, without a push (Buildbot's force build, laminarc queue). Admins only.
// The dispatcher asks the project's observer where the branch points, or
// which commit the id (full, or its first 7 or more hex digits) names and a
// branch that has it — a command it keeps in its journal until the observer
// answers — then queues that commit, or runs its build again when it has one.
// Exit 0 when that is done (or waits for an observer to connect), 1 when it
// could not be (no such branch or commit), 2 for bad usage.

import { ConfigError } from '../common/errors.js';
import { parseFlags } from '../common/flags.js';
import { isCommitPrefix } from '../protocol/validate.js';
import { request } from './client.js';
import { adminIdentity } from './identity.js';
import { ADMIN_TARGET_USAGE, branchRef, parseProject, parseTarget, TARGET_FLAGS } from './target.js';

export const BUILD_USAGE = `usage: keel build BRANCH|SHA [--project NAME] [--as NAME]

  BRANCH                  a branch of the observed repository (main, release/1.x): its head
  SHA                     a commit on one of its branches: its id, or its first 7 or more hex
                          digits (a branch named like a commit id: give refs/heads/NAME)
  --project NAME          the observer's --project the branch belongs to
  --as NAME               the admin you act as (default: your admin token's name, or "owner")
${ADMIN_TARGET_USAGE}

exit status: 0 when queued (or waiting for the project's observer to connect),
1 for a branch or commit that is not there, 2 for bad usage`;

/** Waiting for the observer to answer can take a git call or two more than a query. */
const BUILD_TIMEOUT_MS = 30_000;

/** What to build: hex of 7 digits or more is a commit, anything else a branch. */
function parseWhat(given: string | undefined, extra: string[]): { ref: string; commit: null } | { ref: null; commit: string } {
  const usage = () => new ConfigError(`BRANCH must be one branch name that passes git check-ref-format, or SHA a commit id or its first 7 or more hex digits, got "${[given, ...extra].join(' ')}"`);
  if (given === undefined || extra.length > 0) throw usage();
  if (isCommitPrefix(given.toLowerCase()) && /^[0-9a-fA-F]+$/.test(given)) return { ref: null, commit: given.toLowerCase() };
  const ref = branchRef(given);
  if (ref === null) throw usage();
  return { ref, commit: null };
}

export async function build(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  if (argv.includes('--help')) {
    console.log(BUILD_USAGE);
    return 0;
  }
  const parsed = parseFlags({ args: argv, strict: true, allowPositionals: true, options: { ...TARGET_FLAGS, project: { type: 'string' }, as: { type: 'string' } } });
  const [given, ...extra] = parsed.positionals;
  const what = parseWhat(given, extra);
  const project = parseProject(parsed.values.project);
  const target = parseTarget(parsed.values, env);
  const reply = await request(target.address, { type: 'build', ...what, project }, 'done', {
    security: target.security, ...adminIdentity(target, parsed.values.as), timeoutMs: BUILD_TIMEOUT_MS,
  });
  console.log(reply.message);
  return reply.ok ? 0 : 1;
}
