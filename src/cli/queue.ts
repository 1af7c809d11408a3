// keel queue [--project NAME] [--json]: the land queue of every target in
// order (priority, then arrival), then the requests that are over, newest
// first. Anyone with a client token may read it.

import { ConfigError } from '../common/errors.js';
import { parseFlags } from '../common/flags.js';
import type { LandSummary } from '../protocol/records.js';
import { request } from './client.js';
import { table } from './table.js';
import { parseProject, parseTarget, TARGET_FLAGS, TARGET_USAGE } from './target.js';

export const QUEUE_USAGE = `usage: keel queue [--project NAME] [--json]

  --project NAME          only the requests of this observer's --project
  --json                  print the requests as JSON
${TARGET_USAGE}`;

const short = (ref: string) => ref.replace(/^refs\/heads\//, '');

/** Requests as a table, one per line. */
export function requestRows(requests: LandSummary[]): string[] {
  return table(['REQUEST', 'STATE', 'PRIORITY', 'BRANCH', 'INTO', 'HEAD', 'BY', 'NOTE'], requests.map((r) => [
    r.id, `${r.state}${r.flaky ? ' (flaky)' : ''}`, String(r.priority), `${r.project ? `${r.project}:` : ''}${short(r.branch)}`,
    short(r.target), r.head.slice(0, 12), r.by, (r.landedAs ? `landed as ${r.landedAs.slice(0, 12)}` : r.message.split('\n')[0]!),
  ]));
}

export async function queue(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  if (argv.includes('--help')) {
    console.log(QUEUE_USAGE);
    return 0;
  }
  const parsed = parseFlags({
    args: argv, strict: true, allowPositionals: true,
    options: { ...TARGET_FLAGS, json: { type: 'boolean', default: false }, project: { type: 'string' } },
  });
  if (parsed.positionals.length > 0) throw new ConfigError(`keel queue takes no arguments, got "${parsed.positionals.join(' ')}"`);
  const project = parsed.values.project === undefined ? undefined : parseProject(parsed.values.project);
  const target = parseTarget(parsed.values, env);
  const reply = await request(target.address, { type: 'queue' }, 'land-queue', { security: target.security });
  const shown = project === undefined ? reply.requests : reply.requests.filter((r) => r.project === project);
  if (parsed.values.json) {
    console.log(JSON.stringify({ requests: shown, omitted: reply.omitted }, null, 2));
    return 0;
  }
  const open = shown.filter((r) => r.endedAt === null);
  const over = shown.filter((r) => r.endedAt !== null);
  console.log(open.length === 0 ? 'the land queue is empty' : requestRows(open).join('\n'));
  if (over.length > 0) console.log(`\nrecently over:\n${requestRows(over).join('\n')}`);
  if (reply.omitted > 0) console.log(`... and ${reply.omitted} more requests`);
  return 0;
}
