// keel cancel --branch NAME | --queued | --all: many builds in one request.
// Unless --yes, the dispatcher is first asked what it would cancel, and the
// count is confirmed on the terminal; without a terminal to ask on, --yes
// is required, so a script never cancels a thousand builds by accident.

import { createInterface } from 'node:readline/promises';
import { ConfigError } from '../common/errors.js';
import { isRefName } from '../protocol/validate.js';
import { request } from './client.js';
import { adminIdentity } from './identity.js';
import type { Target } from './target.js';

export interface ManyOptions {
  branch?: string;
  queued?: boolean;
  all?: boolean;
  yes?: boolean;
  as?: string;
  project: string | null;
}

function branchRef(branch: string | undefined): string | null {
  if (branch === undefined) return null;
  const ref = branch.startsWith('refs/') ? branch : `refs/heads/${branch}`;
  if (branch.startsWith('-') || !isRefName(ref)) throw new ConfigError(`--branch must be a branch name that passes git check-ref-format, got "${branch}"`);
  return ref;
}

function what(options: ManyOptions, count = 2): string {
  const which = `${options.queued ? 'queued' : 'unfinished'} build${count === 1 ? '' : 's'}`;
  return `${which}${options.branch ? ` of ${options.branch}` : ''}${options.project ? ` in project ${options.project}` : ''}`;
}

async function confirm(question: string): Promise<boolean> {
  const terminal = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await terminal.question(question)).trim());
  } finally {
    terminal.close();
  }
}

export async function cancelMany(options: ManyOptions, target: Target): Promise<number> {
  if (options.all && (options.branch !== undefined || options.queued)) throw new ConfigError('--all cancels every unfinished build: give it alone, or --branch and/or --queued');
  const ref = branchRef(options.branch);
  const ask = (dryRun: boolean) => request(target.address, { type: 'cancel-many', project: options.project, ref, queued: options.queued ?? false, dryRun }, 'cancelled-many', {
    security: target.security, ...adminIdentity(target, options.as),
  });
  if (!options.yes) {
    const preview = await ask(true);
    if (preview.count === 0) {
      console.log(`no ${what(options)} to cancel`);
      return 1;
    }
    const first = `${preview.commits.slice(0, 3).map((sha) => sha.slice(0, 12)).join(', ')}${preview.count > 3 ? ', …' : ''}`;
    if (!process.stdin.isTTY) throw new ConfigError(`this would cancel ${preview.count} ${what(options, preview.count)} (${first}): give --yes to do it without being asked`);
    if (!(await confirm(`cancel ${preview.count} ${what(options, preview.count)} (${first})? [y/N] `))) {
      console.log('nothing cancelled');
      return 1;
    }
  }
  const done = await ask(false);
  console.log(done.count === 0 ? `no ${what(options)} to cancel` : `cancelled ${done.count} ${what(options, done.count)}`);
  return done.count === 0 ? 1 : 0;
}
