// keel status [sha] [--json]: what the dispatcher knows; `--branch NAME`
// lists every build of a branch instead (status-branch.ts). Exit 0 when asked
// about a build that passed (or is still going) and for the overview, 1 for a
// build that failed, errored, was cancelled or is unknown, 2 for bad usage or
// an unreachable dispatcher.

import { ConfigError } from '../common/errors.js';
import { parseFlags } from '../common/flags.js';
import type { Status } from '../protocol/messages.js';
import type { BuildRecord } from '../protocol/records.js';
import { formatCounts, formatGrant } from '../dispatcher/report.js';
import { verdict, whoRan } from '../dispatcher/verdict.js';
import { request } from './client.js';
import { branchStatus } from './status-branch.js';
import { buildTable, duration } from './build-table.js';
import { table } from './table.js';
import { commitOrSay, parseCommitArg } from './commit-arg.js';
import { parseProject, parseTarget, TARGET_FLAGS, TARGET_USAGE } from './target.js';

export const STATUS_USAGE = `usage: keel status [SHA | --branch NAME [--limit N]] [--project NAME] [--json] [--dispatcher HOST:PORT]

  SHA                     a commit id, or its first 7 or more hex digits (unique among the
                          builds the dispatcher knows); without it, the runners, the queue
                          and recent builds
  --branch NAME           every build of a branch (main, or a whole ref), newest first, and its land requests
  --limit N               with --branch: how many (default 20, at most 1000)
  --project NAME          the observer's --project the commit belongs to
  --json                  print the dispatcher's answer as JSON
${TARGET_USAGE}

exit status: 0 for the overview, or a build that passed, is queued or is running;
1 for a build that failed, errored, was cancelled or skipped, or is not known;
2 for bad usage (a short id several commits start with, too), a missing or
refused secret, or a dispatcher that cannot be reached`;

function parseStatusArgs(argv: string[], env: NodeJS.ProcessEnv) {
  const parsed = parseFlags({
    args: argv,
    strict: true,
    allowPositionals: true,
    options: {
      ...TARGET_FLAGS, json: { type: 'boolean', default: false }, project: { type: 'string' },
      branch: { type: 'string' }, limit: { type: 'string' },
    },
  });
  const { values, positionals } = parsed;
  if (positionals.length > 1) throw new ConfigError(`keel status takes at most one commit id, got ${positionals.length}`);
  if (values.branch !== undefined && positionals.length > 0) throw new ConfigError('keel status takes a commit id or --branch, not both');
  if (values.limit !== undefined && values.branch === undefined) throw new ConfigError('--limit goes with --branch');
  const commit = positionals[0] === undefined ? null : parseCommitArg(positionals[0]);
  return {
    target: parseTarget(values, env), json: values.json, commit, project: parseProject(values.project),
    branch: values.branch ?? null, limit: values.limit ?? '20',
  };
}

/** Runners started on demand, and why; failed starts and any backoff. */
function describeScaling({ started, failures, lastFailure, backoffUntil }: NonNullable<Status['scaling']>): string {
  const runners = started.map((r) => `${r.name} (${r.state}${r.labels.length ? `, ${r.labels.join(',')}` : ''}: ${r.reason})`);
  const failed = failures > 0 ? `; ${failures} failed start(s), last: ${lastFailure}${backoffUntil ? `; backing off until ${backoffUntil}` : ''}` : '';
  return `started on demand: ${runners.length === 0 ? 'none now' : runners.join(', ')}${failed}`;
}

function printOverview(status: Status): void {
  const runners = status.runners.map((r) => {
    const states = [...(r.draining ? ['draining'] : []), ...(r.paused ? ['paused'] : []), ...(r.unhealthy ? [r.unhealthy] : [])];
    return `${r.name} (${r.busy}/${r.slots} busy${states.map((s) => `, ${s}`).join('')}${r.labels.length ? `, ${r.labels.join(',')}` : ''})`;
  });
  if (status.runnersOmitted > 0) runners.push(`and ${status.runnersOmitted} more`);
  console.log(`runners: ${runners.length === 0 ? 'none' : runners.join(', ')}`);
  if (status.scaling) console.log(describeScaling(status.scaling));
  console.log(`queued jobs: ${status.queued}`);
  if (status.unwrittenCount > 0) {
    const more = status.unwrittenCount > status.unwritten.length ? ` and ${status.unwrittenCount - status.unwritten.length} more` : '';
    console.log(`result files not yet written (retrying): ${status.unwritten.join(', ')}${more}`);
  }
  if (status.heads && status.heads.length > 0) {
    const rows = status.heads.map((b) => [`${b.project ? `${b.project}:` : ''}${b.ref.replace(/^refs\/heads\//, '')}`, b.status, b.commit.slice(0, 12), b.endedAt ?? '-']);
    console.log(`last build of each branch:\n${table(['BRANCH', 'STATUS', 'COMMIT', 'ENDED'], rows).join('\n')}\n`);
  }
  if (status.builds.length === 0) console.log('no builds yet');
  else console.log(buildTable(status.builds).join('\n'));
  if (status.omitted > 0) console.log(`... and ${status.omitted} more builds`);
}

function printBuild(build: BuildRecord, unwritten: boolean): void {
  console.log(`commit:   ${build.commit}`);
  console.log(`status:   ${verdict(build)}`);
  console.log(`ref:      ${build.ref}`);
  for (const [label, value] of whoRan(build)) console.log(`${`${label}:`.padEnd(9)} ${value}`);
  console.log(`duration: ${duration(build.durationMs)}`);
  console.log(`tests:    ${formatCounts(build.counts)}`);
  if (build.subject.kind !== 'push') console.log(`tested:   as ${build.subject.kind} for ${build.subject.request}`);
  if (build.run > 1) console.log(`run:      ${build.run}`);
  if (build.message) console.log(`reason:   ${build.message}`);
  if (unwritten) console.log('results:  not yet written (the dispatcher keeps it and retries)');
  for (const job of build.jobs) {
    const notes = [
      ...(job.runner ? [`on ${job.runner}`] : []), `${job.attempts.length} attempt(s)`,
      ...(job.flaky ? ['flaky: passed on a retry'] : []), ...(job.spec?.generated ? ['from the generator'] : []),
      ...(job.secrets ? [`secrets: ${formatGrant(job.secrets)}`] : []), ...(job.message ? [job.message] : []),
    ];
    console.log(`job ${job.spec?.title ?? job.name}: ${job.status} (${notes.join('; ')})`);
  }
}

export async function status(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  if (argv.includes('--help')) {
    console.log(STATUS_USAGE);
    return 0;
  }
  const { target, json, commit: given, project, branch, limit } = parseStatusArgs(argv, env);
  if (branch !== null) return branchStatus({ target, json, project, branch, limit });
  const commit = given === null ? null : await commitOrSay(target, given, project, {}, (message) => console.log(json ? 'null' : message));
  if (given !== null && commit === null) return 1;
  const reply = await request(target.address, { type: 'query', commit, project }, 'status', { security: target.security });
  if (json) {
    console.log(JSON.stringify(commit === null ? reply : reply.record, null, 2));
  } else if (commit === null) {
    printOverview(reply);
  } else if (reply.record) {
    printBuild(reply.record, reply.builds[0]?.unwritten ?? false);
  } else {
    console.log(`no build of ${commit} is known to the dispatcher`);
  }
  if (reply.note) console.error(`keel: ${reply.note}`);
  if (commit === null) return 0;
  const build = reply.record;
  return build && ['passed', 'queued', 'running'].includes(build.status) ? 0 : 1;
}
