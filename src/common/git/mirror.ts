// A bare mirror per repository under <workdir>/mirrors. Updates of one
// mirror run one at a time (withLock), since two fetches into it would fight
// over its lock; the worktree pool takes the same lock to add and remove
// worktrees. Shared: the runner checks commits out of it, the dispatcher
// reads keel.json from it (job-source.ts).
//
// A repository that is a folder on this machine lends its objects to the
// mirror (objects/info/alternates, as `git clone --shared` does): a pushed
// commit is then there at once, with no fetch (some 25 ms of git processes)
// between the push and the test. The mirror is only a cache: should origin
// prune a commit a job still wants, that job fails as it would have to fetch
// it, and is retried.

import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import { git, type GitContext } from './run.js';

export class Mirrors {
  private readonly locks = new Map<string, Promise<unknown>>();
  private readonly root: string;

  constructor(workdir: string, private readonly context: GitContext) {
    this.root = join(workdir, 'mirrors');
  }

  /** Where the bare mirror of `repo` lives (it may not exist yet). */
  mirrorPath(repo: string): string {
    return join(this.root, `${createHash('sha256').update(repo).digest('hex').slice(0, 16)}.git`);
  }

  /** Every mirror there is. */
  async list(): Promise<string[]> {
    if (!existsSync(this.root)) return [];
    return (await readdir(this.root)).map((name) => join(this.root, name));
  }

  /** Runs `work` once whatever else was started on `mirror` has ended. */
  withLock<T>(mirror: string, work: () => Promise<T>): Promise<T> {
    const previous = this.locks.get(mirror) ?? Promise.resolve();
    const next = previous.then(work, work);
    this.locks.set(mirror, next.catch(() => {}));
    return next;
  }

  /** Makes sure the mirror of `repo` has `commit`, fetching only when it does not. */
  ensureCommit(repo: string, commit: string): Promise<string> {
    const mirror = this.mirrorPath(repo);
    const run = (args: string[], cwd: string) => git(this.context, args, { cwd });
    return this.withLock(mirror, async () => {
      if (!existsSync(mirror)) {
        await mkdir(mirror, { recursive: true });
        await run(['init', '--quiet', '--bare', mirror], this.root);
        await this.borrowObjects(repo, mirror);
      }
      if (await this.hasCommit(mirror, commit)) return mirror;
      // Branch heads first: it works with every server. A commit that is on no
      // branch any more is then asked for by id.
      await run(['fetch', '--quiet', '--prune', '--no-tags', '--', repo, '+refs/heads/*:refs/heads/*'], mirror);
      if (!(await this.hasCommit(mirror, commit))) {
        await run(['fetch', '--quiet', '--no-tags', '--', repo, commit], mirror);
      }
      if (!(await this.hasCommit(mirror, commit))) throw new Error(`commit ${commit} is not in ${repo}`);
      return mirror;
    });
  }

  /** Points a new mirror at the objects of `repo` when it is a git repository in a folder here. */
  private async borrowObjects(repo: string, mirror: string): Promise<void> {
    if (!isAbsolute(repo) || !existsSync(repo)) return;
    const probe = await git(this.context, ['rev-parse', '--path-format=absolute', '--git-common-dir'], { cwd: repo, allowFailure: true });
    const objects = join(probe.stdout.trim(), 'objects');
    if (probe.code !== 0 || !existsSync(objects)) return;
    await mkdir(join(mirror, 'objects', 'info'), { recursive: true });
    await writeFile(join(mirror, 'objects', 'info', 'alternates'), `${objects}\n`);
  }

  private async hasCommit(mirror: string, commit: string): Promise<boolean> {
    const { code } = await git(this.context, ['cat-file', '-e', `${commit}^{commit}`], { cwd: mirror, allowFailure: true });
    return code === 0;
  }
}
