// keel cancel --branch NAME / --queued / --all: every unfinished push build
// of a project that matches, in one request (cancelling a flood of a
// thousand builds one by one took minutes). Which builds match is a pure
// choice; a dry run says how many and which first, for the CLI to confirm.
// Builds Keel made itself (try, land, patch) are left to their own commands.

import { LIMITS } from '../protocol/limits.js';
import type { CancelledMany, CancelMany } from '../protocol/messages.js';
import type { BuildRecord } from '../protocol/records.js';
import { isFinished } from './build.js';
import type { BuildCommands } from './commands.js';
import type { State } from './state.js';

export interface CancelFilter {
  project: string | null;
  /** Only builds of this ref; null: any. */
  ref: string | null;
  /** Only builds none of whose jobs has started. */
  queued: boolean;
}

/** The builds a bulk cancel takes, oldest first. */
export function selectBuilds(builds: Iterable<BuildRecord>, filter: CancelFilter): BuildRecord[] {
  return [...builds].filter((build) => build.subject.kind === 'push' && build.project === filter.project && !isFinished(build.status)
    && (filter.ref === null || build.ref === filter.ref)
    && (!filter.queued || build.jobs.every((job) => job.status === 'queued' && job.attempts.length === 0)))
    .sort((a, b) => a.queuedAt.localeCompare(b.queuedAt));
}

export async function cancelMany(commands: BuildCommands, state: State, request: Omit<CancelMany, 'type'>, by: string): Promise<CancelledMany> {
  const chosen = selectBuilds(state.builds.values(), request);
  if (!request.dryRun && chosen.length > 0) await commands.cancelBuilds(chosen, by);
  return { type: 'cancelled-many', dryRun: request.dryRun, count: chosen.length, commits: chosen.slice(0, LIMITS.commitMatches).map((build) => build.commit) };
}
