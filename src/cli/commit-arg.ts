// A commit as people type it: the full id, or any unique start of it of at
// least 7 hex digits (the overview prints 12), in any case. A short one is
// looked up among the builds the dispatcher knows (`find-commit`) before the
// command is sent; several matches are named, so the user can pick.

import { ConfigError } from '../common/errors.js';
import { isCommitId, isCommitPrefix } from '../protocol/validate.js';
import { request, type RequestOptions } from './client.js';
import type { Target } from './target.js';

/** The commit argument, lower-cased and checked; throws ConfigError for anything else. */
export function parseCommitArg(value: string | undefined, what = 'SHA'): string {
  const commit = value?.toLowerCase() ?? '';
  if (!isCommitPrefix(commit)) {
    throw new ConfigError(`${what} must be a commit id or its first 7 or more hex digits, got "${value ?? ''}"`);
  }
  return commit;
}

/** A commit nobody knows by that start, or that several start with. */
export class CommitNotFound extends Error {
  constructor(message: string, readonly ambiguous: boolean) {
    super(message);
  }
}

/** The full id of `commit` (given full, or found by its start among the dispatcher's builds). */
export async function fullCommit(target: Target, commit: string, project: string | null, options: RequestOptions): Promise<string> {
  if (isCommitId(commit)) return commit;
  const found = await request(target.address, { type: 'find-commit', prefix: commit, project }, 'commits', { security: target.security, ...options });
  if (found.commits.length === 1 && !found.more) return found.commits[0]!;
  if (found.commits.length === 0) throw new CommitNotFound(`no build of a commit starting with ${commit} is known to the dispatcher`, false);
  const listed = found.commits.join(', ') + (found.more ? ', and more' : '');
  throw new CommitNotFound(`${commit} is the start of several commits the dispatcher knows: ${listed}; give more digits`, true);
}

/**
 * fullCommit as a command uses it: a start several commits share is bad
 * usage (ConfigError, exit 2); one no build has is said with `say` and
 * answered null (the command exits 1, as for a build it does not know).
 */
export async function commitOrSay(target: Target, commit: string, project: string | null, options: RequestOptions, say: (message: string) => void): Promise<string | null> {
  try {
    return await fullCommit(target, commit, project, options);
  } catch (error) {
    if (!(error instanceof CommitNotFound)) throw error;
    if (error.ambiguous) throw new ConfigError(error.message);
    say(error.message);
    return null;
  }
}
