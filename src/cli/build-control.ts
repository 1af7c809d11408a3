// keel cancel SHA and keel retry SHA [--job NAME]: stop a queued or running
// build (running jobs' process groups are killed on their runners), or run a
// finished one again, keeping the earlier attempts on record. keel cancel
// L-17 stops a land or try request the same way, its target untouched.
// Admins only.

import { ConfigError } from '../common/errors.js';
import { parseFlags } from '../common/flags.js';
import { isCommitId, isName, isRequestId } from '../protocol/validate.js';
import { request } from './client.js';
import { adminName, parseProject, parseTarget, TARGET_FLAGS, TARGET_USAGE } from './target.js';

export const CANCEL_USAGE = `usage: keel cancel SHA|REQUEST [--project NAME] [--as NAME]
       keel retry SHA [--job NAME] [--project NAME] [--as NAME]

  REQUEST                 a land or try request id, as keel land printed it (L-17, T-3)
  --job NAME              retry only this job (its id, as in the report)
  --project NAME          the observer's --project the commit belongs to
  --as NAME               the admin you act as (default: your admin token's name, or "owner")
${TARGET_USAGE}`;

export async function buildControl(command: 'cancel' | 'retry', argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  if (argv.includes('--help')) {
    console.log(CANCEL_USAGE);
    return 0;
  }
  const parsed = parseFlags({
    args: argv, strict: true, allowPositionals: true,
    options: { ...TARGET_FLAGS, project: { type: 'string' }, as: { type: 'string' }, ...(command === 'retry' ? { job: { type: 'string' } } : {}) },
  });
  const [commit, ...extra] = parsed.positionals;
  const isRequest = command === 'cancel' && commit !== undefined && isRequestId(commit);
  if (!commit || extra.length > 0 || !(isCommitId(commit) || isRequest)) {
    const what = command === 'cancel' ? 'one full commit id (40 or 64 lower-case hex digits) or a request id (L-17)' : 'one full commit id (40 or 64 lower-case hex digits)';
    throw new ConfigError(`${command === 'cancel' ? 'SHA|REQUEST' : 'SHA'} must be ${what}, got "${parsed.positionals.join(' ')}"`);
  }
  const job = (parsed.values as { job?: string }).job ?? null;
  if (job !== null && !isName(job)) throw new ConfigError(`--job must be a job id as shown in the report, got "${job}"`);
  const project = parseProject(parsed.values.project);
  const target = parseTarget(parsed.values, env);
  const as = adminName(parsed.values.as, target);
  const message = isRequest ? { type: 'land-cancel' as const, request: commit }
    : command === 'cancel' ? { type: 'cancel' as const, commit, project } : { type: 'retry' as const, commit, project, job };
  const reply = await request(target.address, message, 'done', { security: target.security, role: 'admin', name: as });
  console.log(reply.message);
  return reply.ok ? 0 : 1;
}
