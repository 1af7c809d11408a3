// The git work the observer does to the repository, as the only process that
// writes to it: merges for landing, fast-forwards, applied patch series.
// Each operation works in a scratch folder of its own under --state, never in
// the clone's work tree (someone may be using it), and makes its commits as
// the configured identity. For now it can resolve a ref, and find a commit
// and a branch it is on, the way the scan sees the repository.

import { git, GitError } from '../common/git/run.js';
import { isCommitId, isRefName } from '../protocol/validate.js';
import type { ObserverConfig } from './config.js';

export type GitWorkSettings = Pick<ObserverConfig, 'clone' | 'hasOrigin' | 'originGitDir' | 'scratchDir' | 'git' | 'identity'>;

const BRANCH_PREFIX = 'refs/heads/';
const REMOTE_PREFIX = 'refs/remotes/origin/';
/** Candidates named when a short id is ambiguous. */
const SHOWN_CANDIDATES = 8;

export type Located =
  | { kind: 'found'; commit: string; ref: string }
  | { kind: 'none' }
  | { kind: 'ambiguous'; commits: string[]; more: boolean }
  /** The commit exists, but no branch has it. */
  | { kind: 'nowhere'; commit: string };

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
   * The commit a full or short id (`prefix`, hex checked) names where the
   * scan reads branches, and a branch that has it: one whose head it is, else
   * main or master, else the first by name. Ambiguous short ids name their
   * candidates, as git itself would not in a parseable way.
   */
  async locateCommit(prefix: string): Promise<Located> {
    if (!/^[0-9a-f]{7,64}$/.test(prefix)) throw new Error(`refusing to pass ${JSON.stringify(prefix)} to git: not a commit id`);
    const { clone, hasOrigin, originGitDir } = this.settings;
    const [repo, branches] = originGitDir !== null ? [originGitDir, BRANCH_PREFIX] : hasOrigin ? [clone, REMOTE_PREFIX] : [clone, BRANCH_PREFIX];
    const run = (args: string[]) => git(this.settings.git, args, { cwd: repo, allowFailure: true });
    // Every object whose id starts so, then only the commits among them.
    const objects = (await run(['rev-parse', `--disambiguate=${prefix}`])).stdout.split('\n').filter((id) => isCommitId(id));
    const commits = [];
    // A prefix of seven digits or more names one object, or a few: one git call each is cheap.
    for (const id of objects) if ((await run(['cat-file', '-t', id])).stdout.trim() === 'commit') commits.push(id);
    if (commits.length === 0) return { kind: 'none' };
    if (commits.length > 1) return { kind: 'ambiguous', commits: commits.slice(0, SHOWN_CANDIDATES), more: commits.length > SHOWN_CANDIDATES };
    const commit = commits[0]!;
    const listed = await git(this.settings.git, ['for-each-ref', '--contains', commit, '--format=%(objectname) %(refname)', branches], { cwd: repo });
    const having = listed.stdout.split('\n').filter(Boolean).map((line) => {
      const [head, name] = line.split(' ') as [string, string];
      return { head, ref: `${BRANCH_PREFIX}${name.slice(branches.length)}` };
    }).filter(({ ref }) => isRefName(ref) && !ref.endsWith('/HEAD'));
    const best = having.find(({ head }) => head === commit)
      ?? having.find(({ ref }) => ref === 'refs/heads/main') ?? having.find(({ ref }) => ref === 'refs/heads/master') ?? having[0];
    return best ? { kind: 'found', commit, ref: best.ref } : { kind: 'nowhere', commit };
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
