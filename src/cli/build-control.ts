// keel cancel SHA and keel retry SHA [--job NAME]: stop a queued or running
// build (running jobs' process groups are killed on their runners), or run a
// finished one again, keeping the earlier attempts on record. keel cancel
// L-17 stops a land or try request the same way, its target untouched.
// Admins only. SHA may be the start of a commit id (7 hex digits or more).
// keel cancel --branch, --queued and --all cancel many at once
// (cancel-many.ts).

import { ConfigError } from '../common/errors.js';
import { parseFlags } from '../common/flags.js';
import { isCommitPrefix, isName, isRequestId } from '../protocol/validate.js';
import { cancelMany } from './cancel-many.js';
import { request } from './client.js';
import { commitOrSay, parseCommitArg } from './commit-arg.js';
import { adminIdentity } from './identity.js';
import { ADMIN_TARGET_USAGE, parseProject, parseTarget, TARGET_FLAGS } from './target.js';

export const CANCEL_USAGE = `usage: keel cancel SHA|REQUEST [--project NAME] [--as NAME]
       keel cancel --branch NAME | --queued | --all [--yes] [--project NAME] [--as NAME]

Stops queued or running builds: their running jobs' process groups are
killed on their runners, and each is recorded as cancelled; or a land or
try request, its target untouched. Admins only.

  SHA                     the commit whose build to stop (its id, or its first 7 or more hex digits)
  REQUEST                 a land or try request id, as keel land printed it (L-17, T-3)
  --branch NAME           every unfinished build of that branch
  --queued                every build not started yet (with --branch: of that branch)
  --all                   every unfinished build
  --yes                   do not ask: without it, the number of builds is shown and
                          confirmed on the terminal (and refused when there is none)
  --project NAME          the observer's --project the builds belong to
  --as NAME               the admin you act as (default: your admin token's name, or "owner")
${ADMIN_TARGET_USAGE}

exit status: 0 when cancelled, 1 when there was nothing to cancel (or it was
not confirmed), 2 for bad usage`;

export const RETRY_USAGE = `usage: keel retry SHA [--job NAME] [--project NAME] [--as NAME]

Runs a finished build again (or one of its jobs), keeping the earlier
attempts on record; the new run's files replace the old run's. Admins only.

  SHA                     the commit whose build to run again (its id, or its first 7 or more hex digits)
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
  const many = { branch: { type: 'string' }, queued: { type: 'boolean' }, all: { type: 'boolean' }, yes: { type: 'boolean' } } as const;
  const parsed = parseFlags({
    args: argv, strict: true, allowPositionals: true,
    options: { ...TARGET_FLAGS, project: { type: 'string' }, as: { type: 'string' }, ...(command === 'retry' ? { job: { type: 'string' } } : many) },
  });
  const values = parsed.values as typeof parsed.values & { job?: string; branch?: string; queued?: boolean; all?: boolean; yes?: boolean };
  const project = parseProject(values.project);
  if (command === 'cancel' && (values.branch !== undefined || values.queued || values.all)) {
    if (parsed.positionals.length > 0) throw new ConfigError(`keel cancel takes SHA or --branch/--queued/--all, not both (got "${parsed.positionals.join(' ')}")`);
    return cancelMany({ ...values, project }, parseTarget(values, env));
  }
  if (values.yes) throw new ConfigError('--yes goes with --branch, --queued or --all');
  const [given, ...extra] = parsed.positionals;
  if (extra.length > 0) throw new ConfigError(`${command === 'cancel' ? 'SHA|REQUEST' : 'SHA'} must be one commit id${command === 'cancel' ? ' or request id' : ''}, got "${parsed.positionals.join(' ')}"`);
  if (command === 'cancel' && given !== undefined && isRequestId(given)) return cancelRequest(given, values, env);
  if (command === 'cancel' && !isCommitPrefix(given?.toLowerCase() ?? '')) {
    throw new ConfigError(`SHA|REQUEST must be a commit id (or its first 7 or more hex digits) or a request id (L-17), got "${given ?? ''}"`);
  }
  const commitArg = parseCommitArg(given);
  const job = values.job ?? null;
  if (job !== null && !isName(job)) throw new ConfigError(`--job must be a job id as shown in the report, got "${job}"`);
  const target = parseTarget(values, env);
  const identity = adminIdentity(target, values.as);
  const commit = await commitOrSay(target, commitArg, project, identity, console.log);
  if (commit === null) return 1;
  const message = command === 'cancel' ? { type: 'cancel' as const, commit, project } : { type: 'retry' as const, commit, project, job };
  const reply = await request(target.address, message, 'done', { security: target.security, ...identity });
  console.log(reply.message);
  return reply.ok ? 0 : 1;
}

/** keel cancel L-17: a land or try request, its target untouched. */
async function cancelRequest(id: string, values: { dispatcher: string; as?: string } & Record<string, unknown>, env: NodeJS.ProcessEnv): Promise<number> {
  const target = parseTarget(values, env);
  const reply = await request(target.address, { type: 'land-cancel', request: id }, 'done', { security: target.security, ...adminIdentity(target, values.as) });
  console.log(reply.message);
  return reply.ok ? 0 : 1;
}
