// keel patches: the patches the dispatcher knows, newest first, filtered as
// asked — by state, flags, files they touch, and broken by trunk (passed on
// an older trunk, fail on a newer one), optionally within --since.

import { ConfigError } from '../common/errors.js';
import { parseFlags } from '../common/flags.js';
import { PATCH_STATES, type PatchState, type PatchSummary } from '../protocol/patch-records.js';
import { isName } from '../protocol/validate.js';
import { request } from './client.js';
import { table } from './table.js';
import { parseProject, parseTarget, TARGET_FLAGS, TARGET_USAGE } from './target.js';

export const PATCHES_USAGE = `usage: keel patches [--state STATE] [--flag FLAG]... [--touches-none PATH]... [--broken-by-trunk] [--since AGE] [--project NAME] [--json]

  --state STATE           open, passed, failed, conflict or closed
  --flag FLAG             only patches with this flag (repeatable: all of them)
  --touches-none PATH     only patches that change nothing under PATH (a folder ending in /, or a file; repeatable)
  --broken-by-trunk       only patches that passed on an older trunk and fail (or no longer apply) on a newer one
  --since AGE             submitted (with --broken-by-trunk: broken) within AGE: 90s, 30m, 12h, 7d
  --project NAME          only this observer's --project (default: every project)
  --json                  print the patches as JSON
${TARGET_USAGE}`;

const UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

function parseAge(value: string): number {
  const age = /^(\d+)([smhd])$/.exec(value);
  if (!age) throw new ConfigError(`--since must be a number and a unit (s, m, h, d), such as 7d, got "${value}"`);
  return Number(age[1]) * UNITS[age[2]!]!;
}

function rows(patches: PatchSummary[]): string[] {
  return table(['PATCH', 'STATE', 'VERSIONS', 'SUBJECT', 'AUTHOR', 'FLAGS', 'NOTE'], patches.map((p) => [
    p.id, p.state, String(p.versions), p.subject.length > 60 ? `${p.subject.slice(0, 59)}…` : p.subject, p.author, p.flags.join(',') || '-',
    p.brokenBy ? `broken by trunk${p.brokenBy.first ? ` at ${p.brokenBy.first.slice(0, 12)}` : ''}` : p.latest?.fix === 'verified' ? 'fix verified' : p.message.split('\n')[0]!.slice(0, 80),
  ]));
}

export async function patches(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  if (argv.includes('--help')) {
    console.log(PATCHES_USAGE);
    return 0;
  }
  const parsed = parseFlags({
    args: argv, strict: true, allowPositionals: true,
    options: {
      ...TARGET_FLAGS, json: { type: 'boolean', default: false }, state: { type: 'string' }, flag: { type: 'string', multiple: true },
      'touches-none': { type: 'string', multiple: true }, 'broken-by-trunk': { type: 'boolean', default: false }, since: { type: 'string' },
      project: { type: 'string' },
    },
  });
  if (parsed.positionals.length > 0) throw new ConfigError(`keel patches takes no arguments, got "${parsed.positionals.join(' ')}"`);
  const { values } = parsed;
  if (values.state !== undefined && !(PATCH_STATES as readonly string[]).includes(values.state)) {
    throw new ConfigError(`--state must be one of ${PATCH_STATES.join(', ')}, got "${values.state}"`);
  }
  const flags = values.flag ?? [];
  for (const flag of flags) if (!isName(flag)) throw new ConfigError(`--flag must be a plain name such as ready-for-checkin, got "${flag}"`);
  const target = parseTarget(values, env);
  const reply = await request(target.address, {
    type: 'patches', project: values.project === undefined ? null : parseProject(values.project), anyProject: values.project === undefined,
    state: (values.state as PatchState | undefined) ?? null, flags, touchesNone: values['touches-none'] ?? [], brokenByTrunk: values['broken-by-trunk'],
    sinceMs: values.since === undefined ? null : parseAge(values.since),
  }, 'patch-list', { security: target.security });
  if (values.json) console.log(JSON.stringify({ patches: reply.patches, omitted: reply.omitted }, null, 2));
  else console.log(reply.patches.length === 0 ? 'no patches' : rows(reply.patches).join('\n'));
  if (!values.json && reply.omitted > 0) console.log(`... and ${reply.omitted} more`);
  return 0;
}
