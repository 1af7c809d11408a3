// The git work the observer does to the repository, as the only process that
// writes to it: merges for landing, fast-forwards, applied patch series.
// Each operation works in a scratch folder of its own under --state, never in
// the clone's work tree (someone may be using it), and makes its commits as
// the configured identity. For now it can resolve a ref the way the scan
// sees the repository.

import { git, GitError } from '../common/git/run.js';
import { isCommitId, isRefName } from '../protocol/validate.js';
import type { ObserverConfig } from './config.js';

export type GitWorkSettings = Pick<ObserverConfig, 'clone' | 'hasOrigin' | 'originGitDir' | 'scratchDir' | 'git' | 'identity'>;

const BRANCH_PREFIX = 'refs/heads/';

export class GitWork {
  constructor(private readonly settings: GitWorkSettings) {}

  /**
   * The commit `ref` (a full ref name, e.g. refs/heads/main) names on origin,
   * as the scan sees it: read in origin itself when it is a folder here, or
   * from the clone's refs/remotes/origin/ when it is not (or cannot be read
   * in place), which holds origin's branches only; with no origin, the clone
   * is the repository. Null when there is no such ref or it names no commit.
   */
  async resolveRef(ref: string): Promise<string | null> {
    if (!isRefName(ref)) throw new Error(`refusing to pass ${JSON.stringify(ref)} to git: not a full ref name`);
    const { clone, hasOrigin, originGitDir } = this.settings;
    if (!hasOrigin) return this.readRef(clone, ref);
    if (originGitDir !== null) {
      try {
        return await this.readRef(originGitDir, ref);
      } catch (error) {
        if (!(error instanceof GitError)) throw error;
      }
    }
    if (!ref.startsWith(BRANCH_PREFIX)) return null;
    return this.readRef(clone, `refs/remotes/origin/${ref.slice(BRANCH_PREFIX.length)}`);
  }

  /**
   * The commit `ref` names in `gitDir`, exactly that ref: rev-parse would
   * also try refs/<ref>, refs/tags/<ref> and more when it is missing. An
   * annotated tag is peeled once.
   */
  private async readRef(gitDir: string, ref: string): Promise<string | null> {
    const format = '%(refname) %(objecttype) %(objectname) %(*objecttype) %(*objectname)';
    // The pattern also matches refs below `ref/`; the exact name is picked out below.
    const { stdout } = await git(this.settings.git, ['for-each-ref', `--format=${format}`, ref], { cwd: gitDir });
    for (const line of stdout.split('\n')) {
      const [name, type, id, peeledType, peeledId] = line.split(' ');
      if (name !== ref) continue;
      const commit = type === 'commit' ? id : peeledType === 'commit' ? peeledId : null;
      if (commit === null) return null;
      if (commit === undefined || !isCommitId(commit)) throw new Error(`git for-each-ref gave ${JSON.stringify(line)} for ${ref}: not a commit id`);
      return commit;
    }
    return null;
  }
}
