// keel cancel SHA and keel retry SHA [--job NAME]: stop a queued or running
// build (running jobs' process groups are killed on their runners), or run a
// finished one again, keeping the earlier attempts on record. Admins only.

import { ConfigError } from '../common/errors.js';
import { parseFlags } from '../common/flags.js';
import { isCommitId, isName } from '../protocol/validate.js';
import { request } from './client.js';
import { adminIdentity } from './identity.js';
import { ADMIN_TARGET_USAGE, parseProject, parseTarget, TARGET_FLAGS } from './target.js';

export const CANCEL_USAGE = `usage: keel cancel SHA [--project NAME] [--as NAME]

Stops a queued or running build: its running jobs' process groups are
killed on their runners, and it is recorded as cancelled. Admins only.

  SHA                     the commit whose build to stop
  --project NAME          the observer's --project the commit belongs to
  --as NAME               the admin you act as (default: your admin token's name, or "owner")
${ADMIN_TARGET_USAGE}

exit status: 0 when cancelled, 1 when there was nothing to cancel, 2 for bad usage`;

export const RETRY_USAGE = `usage: keel retry SHA [--job NAME] [--project NAME] [--as NAME]

Runs a finished build again (or one of its jobs), keeping the earlier
attempts on record; the new run's files replace the old run's. Admins only.

  SHA                     the commit whose build to run again
  --job NAME              only this job (its id, as in the report)
  --project NAME          the observer's --project the commit belongs to
  --as NAME               the admin you act as (default: your admin token's name, or "owner")
${ADMIN_TARGET_USAGE}

exit status: 0 when queued again, 1 when it could not be (not finished, unknown), 2 for bad usage`;

export async function buildControl(command: 'cancel' | 'retry', argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  if (argv.includes('--help')) {
    console.log(command === 'cancel' ? CANCEL_USAGE : RETRY_USAGE);
    return 0;
  }
  const parsed = parseFlags({
    args: argv, strict: true, allowPositionals: true,
    options: { ...TARGET_FLAGS, project: { type: 'string' }, as: { type: 'string' }, ...(command === 'retry' ? { job: { type: 'string' } } : {}) },
  });
  const [commit, ...extra] = parsed.positionals;
  if (!commit || extra.length > 0 || !isCommitId(commit)) {
    throw new ConfigError(`SHA must be one full commit id (40 or 64 lower-case hex digits), got "${parsed.positionals.join(' ')}"`);
  }
  const job = (parsed.values as { job?: string }).job ?? null;
  if (job !== null && !isName(job)) throw new ConfigError(`--job must be a job id as shown in the report, got "${job}"`);
  const project = parseProject(parsed.values.project);
  const target = parseTarget(parsed.values, env);
  const message = command === 'cancel' ? { type: 'cancel' as const, commit, project } : { type: 'retry' as const, commit, project, job };
  const reply = await request(target.address, message, 'done', { security: target.security, ...adminIdentity(target.security.secret, parsed.values.as) });
  console.log(reply.message);
  return reply.ok ? 0 : 1;
}
