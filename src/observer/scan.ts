// Deciding which commits are new, given the cursor and the current heads.
// Git is reached only through the `list` function passed in, so the rules
// here can be read (and tested) apart from how the heads were obtained.
//
//   first run (no cursor)  → each head once, no history;
//   known branch O → H     → rev-list H --not O (right after force-pushes too):
//                            every commit a known branch gains is built;
//   branch new since then  → its head alone, as on a first run (and as GitLab
//                            and GitHub build a new branch), unless that head
//                            is on a known branch already; its history is not
//                            built, or the first push of a project (or of a
//                            branch watched with --branch before it existed)
//                            would queue a build per commit;
//   branch gone            → its cursor is dropped.

import type { CommitList } from './git-refs.js';

/** At most this many commits are reported for one branch in one scan. */
export const MAX_COMMITS_PER_BRANCH = 1000;

export type ListCommits = (head: string, exclude: readonly string[], limit: number) => Promise<CommitList>;

export interface FoundCommit {
  readonly commit: string;
  readonly branch: string;
}

export interface ScanResult {
  /** Oldest first within a branch; each commit once, under the first branch that had it. */
  found: FoundCommit[];
  /** The cursor to keep: exactly the watched branches that exist now. */
  branches: Map<string, string>;
  /** Branches whose new commits were more than the limit (only the newest were kept). */
  capped: string[];
  /** Branches that were in the cursor and are gone now. */
  deleted: string[];
  /** New branches whose head was reported, and how many commits before it were not. */
  fresh: FreshBranch[];
}

export interface FreshBranch {
  readonly branch: string;
  readonly head: string;
  /** Commits on it before its head that no known branch has: not reported. */
  readonly skipped: number;
  /** There were more than `skipped` (the count stopped at the limit). */
  readonly more: boolean;
}

export interface ScanInput {
  /** The cursor's branches, or null on the very first run. */
  previous: ReadonlyMap<string, string> | null;
  /** Current heads of the watched branches. */
  heads: ReadonlyMap<string, string>;
  list: ListCommits;
  limit?: number;
}

export async function findNewCommits(input: ScanInput): Promise<ScanResult> {
  const { previous, heads, list } = input;
  const limit = input.limit ?? MAX_COMMITS_PER_BRANCH;
  const result: ScanResult = { found: [], branches: new Map(heads), capped: [], deleted: [], fresh: [] };
  const seen = new Set<string>();
  const report = (branch: string, commits: readonly string[]) => {
    for (const commit of commits) {
      if (seen.has(commit)) continue;
      seen.add(commit);
      result.found.push({ commit, branch });
    }
  };

  const names = [...heads.keys()].sort();
  if (previous === null) {
    for (const branch of names) report(branch, [heads.get(branch)!]);
    return result;
  }

  result.deleted = [...previous.keys()].filter((branch) => !heads.has(branch)).sort();
  const known = names.filter((branch) => previous.has(branch));
  const fresh = names.filter((branch) => !previous.has(branch));

  for (const branch of known) {
    const head = heads.get(branch)!;
    const before = previous.get(branch)!;
    if (head === before) continue;
    const listed = await list(head, [before], limit);
    if (listed.capped) result.capped.push(branch);
    report(branch, listed.commits);
  }

  // Everything that was already reported, plus where the known branches are
  // now: a fresh branch's head is new only when no known branch has it.
  const exclude = [...new Set([...previous.values(), ...known.map((branch) => heads.get(branch)!)])];
  for (const branch of fresh) {
    const head = heads.get(branch)!;
    const listed = await list(head, exclude, limit);
    if (listed.commits.length === 0) continue;
    report(branch, [head]);
    result.fresh.push({ branch, head, skipped: listed.commits.length - 1, more: listed.capped });
  }
  return result;
}
