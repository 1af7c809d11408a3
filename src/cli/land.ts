// keel land BRANCH and keel try BRANCH: ask the gate to merge a branch into
// its target, test the merge, and (land) move the target to exactly the
// tested commit. Admins only. Prints the request id; --wait blocks until the
// request is over, through a restart of the dispatcher. Exit 0 when queued
// (with --wait: landed, or for a try, passed), 1 when --wait saw it end
// otherwise, 2 for bad usage, a refused request (no such branch or target,
// no observer) or an unreachable dispatcher.

import { setTimeout as sleep } from 'node:timers/promises';
import { ConfigError } from '../common/errors.js';
import { parseFlags, parseInteger } from '../common/flags.js';
import { LIMITS } from '../protocol/limits.js';
import type { Done } from '../protocol/messages.js';
import { request, UnreachableError } from './client.js';
import { ADMIN_TARGET_USAGE, adminName, branchRef, parseProject, parseTarget, TARGET_FLAGS, type Target } from './target.js';

export const LAND_USAGE = `usage: keel land BRANCH [--into TARGET] [--priority N] [--squash] [--wait] [--project NAME] [--as NAME]
       keel try BRANCH [--into TARGET] [--squash] [--wait] [--project NAME] [--as NAME]

  BRANCH                  the branch of origin to land (or try)
  --into TARGET           the branch it lands on (default: origin's default branch)
  --priority N            higher goes first in the target's queue (default 0; land only)
  --squash                one squash commit instead of a merge commit
  --wait                  wait until it is over: exit 0 landed (a try: passed), 1 otherwise
  --project NAME          the observer's --project the branch belongs to
  --as NAME               the admin you act as (default: your admin token's name, or "owner")
${ADMIN_TARGET_USAGE}`;

/** The observer looks the branch and target up in origin before the request is queued. */
const SUBMIT_TIMEOUT_MS = 30_000;
/** How long --wait keeps trying to reach a dispatcher that went away. */
const REACH_AGAIN_MS = 5 * 60_000;
/** setTimeout's largest delay: a wait has no deadline of its own. */
const FOREVER_MS = 2 ** 31 - 1;

export async function land(command: 'land' | 'try', argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  if (argv.includes('--help')) {
    console.log(LAND_USAGE);
    return 0;
  }
  const parsed = parseFlags({
    args: argv, strict: true, allowPositionals: true,
    options: {
      ...TARGET_FLAGS, into: { type: 'string' }, squash: { type: 'boolean', default: false }, wait: { type: 'boolean', default: false },
      project: { type: 'string' }, as: { type: 'string' }, ...(command === 'land' ? { priority: { type: 'string', default: '0' } } : {}),
    },
  });
  const [name, ...extra] = parsed.positionals;
  const branch = branchRef(name);
  if (branch === null || extra.length > 0) {
    throw new ConfigError(`BRANCH must be one branch name that passes git check-ref-format, got "${parsed.positionals.join(' ')}"`);
  }
  const into = parsed.values.into;
  const targetRef = into === undefined ? null : branchRef(into);
  if (into !== undefined && targetRef === null) throw new ConfigError(`--into must be a branch name that passes git check-ref-format, got "${into}"`);
  const priorityFlag = (parsed.values as { priority?: string }).priority ?? '0';
  const priority = parseInteger(priorityFlag, '--priority', 0, LIMITS.priority);
  const project = parseProject(parsed.values.project);
  const target = parseTarget(parsed.values, env);
  const as = adminName(parsed.values.as, target);

  const reply = await request(target.address, {
    type: 'land', branch, target: targetRef, project, priority, squash: parsed.values.squash, try: command === 'try',
  }, 'done', { security: target.security, role: 'admin', name: as, timeoutMs: SUBMIT_TIMEOUT_MS });
  if (!reply.ok || reply.request === null) {
    // Nothing was queued: as for bad usage, one line and exit 2.
    console.error(`keel ${command}: ${reply.message}`);
    return 2;
  }
  console.log(reply.message);
  if (!parsed.values.wait) return 0;
  const outcome = await waitFor(target, reply.request, as);
  console.log(outcome.message);
  return outcome.ok ? 0 : 1;
}

/** Waits for a request to be over, asking again after the dispatcher went away and came back. */
async function waitFor(target: Target, id: string, as: string): Promise<Done> {
  let unreachableSince: number | null = null;
  for (;;) {
    try {
      return await request(target.address, { type: 'land-wait', request: id }, 'done', {
        security: target.security, role: 'admin', name: as, timeoutMs: FOREVER_MS,
      });
    } catch (error) {
      if (!(error instanceof UnreachableError)) throw error;
      if (unreachableSince === null) {
        unreachableSince = Date.now();
        console.error(`keel: ${error.message}; waiting for it to come back (${id} goes on there)`);
      } else if (Date.now() - unreachableSince > REACH_AGAIN_MS) {
        throw error;
      }
      await sleep(1000);
    }
  }
}
