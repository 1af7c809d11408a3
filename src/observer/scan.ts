// Deciding which commits are new, given the cursor and the current heads.
// Git is reached only through the `list` function passed in, so the rules
// here can be read (and tested) apart from how the heads were obtained.
//
//   first run (no cursor)  → each head once, no history;
//   known branch O → H     → rev-list H --not O (right after force-pushes too);
//   branch new since then  → rev-list H --not <every other known head>, so a
//                            branch off main reports only its own commits;
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
  const result: ScanResult = { found: [], branches: new Map(heads), capped: [], deleted: [] };
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
  // now: a fresh branch's commits are the ones on no other known branch.
  const exclude = [...new Set([...previous.values(), ...known.map((branch) => heads.get(branch)!)])];
  for (const branch of fresh) {
    const listed = await list(heads.get(branch)!, exclude, limit);
    if (listed.capped) result.capped.push(branch);
    report(branch, listed.commits);
  }
  return result;
}
