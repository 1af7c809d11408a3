// The newest few finished builds of each branch (a project and a ref), and
// each branch's newest passing build, kept in memory from the build index:
// what the status page's overview and its time estimates need, without
// reading history. Bounded: a few builds per branch, and the branches with
// the newest builds (the one built longest ago is forgotten first).

import type { BuildSummary } from '../protocol/records.js';

export interface Branch {
  project: string | null;
  ref: string;
  /** Newest first. */
  builds: BuildSummary[];
  lastPassing: BuildSummary | null;
}

const branchKey = (project: string | null, ref: string) => `${project ?? ''}\u0000${ref}`;

export class BranchRecent {
  /** In order of their newest build, oldest first: a Map keeps insertion order. */
  private readonly branches = new Map<string, Branch>();

  constructor(private readonly perBranch = 5, private readonly maxBranches = 1000) {}

  /** A build that finished, in the order they finished. */
  add(build: BuildSummary): void {
    const key = branchKey(build.project, build.ref);
    const branch = this.branches.get(key) ?? { project: build.project, ref: build.ref, builds: [], lastPassing: null };
    const newest = branch.builds[0];
    if (newest && newest.commit === build.commit && newest.run === build.run) return;
    this.branches.delete(key);
    this.branches.set(key, branch);
    branch.builds.unshift(build);
    if (branch.builds.length > this.perBranch) branch.builds.pop();
    if (build.status === 'passed') branch.lastPassing = build;
    if (this.branches.size > this.maxBranches) this.branches.delete(this.branches.keys().next().value!);
  }

  of(project: string | null, ref: string): Branch | undefined {
    return this.branches.get(branchKey(project, ref));
  }

  /** Branches with the newest build first; of one project when `project` is given (undefined: all). */
  newest(limit: number, project?: string | null): Branch[] {
    const shown: Branch[] = [];
    const all = [...this.branches.values()];
    for (let i = all.length - 1; i >= 0 && shown.length < limit; i--) {
      if (project === undefined || all[i]!.project === project) shown.push(all[i]!);
    }
    return shown;
  }
}
