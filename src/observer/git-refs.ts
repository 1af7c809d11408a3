// The git commands a scan runs, each a thin wrapper: fetch from origin, read
// the branch heads, list the commits between a head and what was seen before.
// Every sha passed to git has been checked to be hex, and revisions follow
// --end-of-options, so nothing from a ref can be read as an option.

import { git, type GitContext } from '../common/git/run.js';
import { isCommitId, isRefName } from '../protocol/validate.js';

export interface RepoView {
  readonly clone: string;
  /** With an origin, branches are read from refs/remotes/origin/ after a fetch. */
  readonly hasOrigin: boolean;
}

export interface BranchHeads {
  /** Branch name → head sha, for every well-formed branch. */
  heads: Map<string, string>;
  /** Refs skipped because their name or id failed validation. */
  rejected: string[];
}

export async function fetchOrigin(context: GitContext, clone: string): Promise<void> {
  await git(context, ['fetch', '--prune', '--quiet', 'origin'], { cwd: clone });
}

/** The branches as the central repository has them (or the clone, with no origin). */
export async function readBranchHeads(context: GitContext, view: RepoView): Promise<BranchHeads> {
  const prefix = view.hasOrigin ? 'refs/remotes/origin/' : 'refs/heads/';
  const { stdout } = await git(context, ['for-each-ref', '--format=%(objectname) %(refname)', prefix], { cwd: view.clone });
  const heads = new Map<string, string>();
  const rejected: string[] = [];
  for (const line of stdout.split('\n')) {
    if (line === '') continue;
    const space = line.indexOf(' ');
    const sha = line.slice(0, space);
    const refname = line.slice(space + 1);
    const branch = refname.slice(prefix.length);
    // origin/HEAD names origin's default branch; it is not a branch of its own.
    if (view.hasOrigin && branch === 'HEAD') continue;
    if (!isCommitId(sha) || !refname.startsWith(prefix) || !isRefName(`refs/heads/${branch}`)) {
      rejected.push(refname);
      continue;
    }
    heads.set(branch, sha);
  }
  return { heads, rejected };
}

export interface CommitList {
  /** Oldest first (parents before children). */
  commits: string[];
  /** True when there were more than `limit`; the newest `limit` are kept. */
  capped: boolean;
}

/**
 * Commits reachable from `head` but not from any of `exclude`, oldest first.
 * Excluded commits that no longer exist (pruned after a force-push) are
 * ignored rather than failing the scan.
 */
export async function listNewCommits(context: GitContext, clone: string, head: string, exclude: readonly string[], limit: number): Promise<CommitList> {
  for (const sha of [head, ...exclude]) {
    if (!isCommitId(sha)) throw new Error(`refusing to pass ${JSON.stringify(sha)} to git: not a commit id`);
  }
  // --max-count applies before --reverse, so this keeps the newest; one extra
  // tells whether anything was cut.
  const args = ['rev-list', '--reverse', '--topo-order', '--ignore-missing', `--max-count=${limit + 1}`, '--end-of-options', head];
  for (const sha of exclude) args.push(`^${sha}`);
  const { stdout } = await git(context, args, { cwd: clone });
  const commits = stdout.split('\n').filter((line) => line !== '');
  const capped = commits.length > limit;
  return { commits: capped ? commits.slice(commits.length - limit) : commits, capped };
}
