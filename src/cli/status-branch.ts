// keel status --branch NAME [--limit N]: every build of a branch, newest
// first, from the dispatcher's index of finished builds (and the builds of
// it still queued or running), asked for a page at a time; then the land
// and try requests of the branch or into it, from the land queue.

import { ConfigError } from '../common/errors.js';
import { parseInteger } from '../common/flags.js';
import { LIMITS } from '../protocol/limits.js';
import type { MessageOf } from '../protocol/messages.js';
import type { BuildSummary, LandSummary } from '../protocol/records.js';
import { isRefName } from '../protocol/validate.js';
import { request } from './client.js';
import { buildTable } from './build-table.js';
import { requestRows } from './queue.js';
import type { Target } from './target.js';

const MAX_LIMIT = 1000;

export interface BranchQuestion {
  target: Target;
  json: boolean;
  project: string | null;
  branch: string;
  limit: string;
}

export async function branchStatus(question: BranchQuestion): Promise<number> {
  const ref = question.branch.startsWith('refs/') ? question.branch : `refs/heads/${question.branch}`;
  if (!isRefName(ref)) throw new ConfigError(`--branch must name a branch (main, feature/x) or a whole ref, got "${question.branch}"`);
  const limit = parseInteger(question.limit, '--limit', 1, MAX_LIMIT);
  const builds: BuildSummary[] = [];
  let before: number | null = null;
  do {
    const page: MessageOf<'history-page'> = await request(question.target.address, {
      type: 'history', project: question.project, ref, limit: Math.min(LIMITS.historyPage, limit - builds.length), before,
    }, 'history-page', { security: question.target.security });
    builds.push(...page.builds);
    before = page.next;
  } while (before !== null && builds.length < limit);
  const queue = await request(question.target.address, { type: 'queue' }, 'land-queue', { security: question.target.security });
  const requests = queue.requests.filter((r: LandSummary) => r.project === question.project && (r.branch === ref || r.target === ref));
  if (question.json) {
    console.log(JSON.stringify({ type: 'history-page', builds, next: before, requests }, null, 2));
    return 0;
  }
  if (builds.length === 0) {
    console.log(`no build of ${ref} is on record`);
  } else {
    console.log(buildTable(builds).join('\n'));
    if (before !== null) console.log(`... older builds: keel status --branch ${question.branch} --limit ${Math.min(MAX_LIMIT, limit * 2)}`);
  }
  if (requests.length > 0) console.log(`\nland and try requests of ${ref} or into it:\n${requestRows(requests).join('\n')}`);
  return 0;
}
