// A bare mirror per repository under <workdir>/mirrors, and worktrees of it
// under <workdir>/worktrees. Mirror updates for one repository are run one at
// a time, since two fetches into the same mirror would fight over its lock.
// Shared: the runner checks commits out of it, the dispatcher reads keel.json
// from it (job-source.ts).
//
// A worktree is reused by the next job of the same repository: cleaned with
// `clean -ffdx` when its job ends and reset with `checkout --force` when the
// next one starts, so the job still starts from exactly the commit and
// nothing of the last run is left, but only the files that differ are
// written — `git worktree add` of a large tree costs far more.
//
// A repository that is a folder on this machine lends its objects to the
// mirror (objects/info/alternates, as `git clone --shared` does): a pushed
// commit is then there at once, with no fetch (some 25 ms of git processes)
// between the push and the test. The mirror is only a cache: should origin
// prune a commit a job still wants, that job fails as it would have to fetch
// it, and is retried.

import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { basename, isAbsolute, join } from 'node:path';
import { git } from './git.js';

export class Mirrors {
  private readonly locks = new Map<string, Promise<unknown>>();
  /** Worktrees no job is using, per mirror: each once it is cleaned (null if it could not be). */
  private readonly idle = new Map<string, Array<Promise<string | null>>>();
  private made = 0;

  constructor(private readonly workdir: string) {}

  /** Where the bare mirror of `repo` lives (it may not exist yet). */
  mirrorPath(repo: string): string {
    return join(this.workdir, 'mirrors', `${createHash('sha256').update(repo).digest('hex').slice(0, 16)}.git`);
  }

  private serialise<T>(key: string, work: () => Promise<T>): Promise<T> {
    const previous = this.locks.get(key) ?? Promise.resolve();
    const next = previous.then(work, work);
    this.locks.set(key, next.catch(() => {}));
    return next;
  }

  /** Makes sure the mirror of `repo` has `commit`, fetching only when it does not. */
  ensureCommit(repo: string, commit: string): Promise<string> {
    const mirror = this.mirrorPath(repo);
    return this.serialise(mirror, async () => {
      if (!existsSync(mirror)) {
        await mkdir(mirror, { recursive: true });
        await git(['init', '--quiet', '--bare', mirror], { cwd: this.workdir });
        await borrowObjects(repo, mirror);
      }
      if (await hasCommit(mirror, commit)) return mirror;
      // Branch heads first: it works with every server. A commit that is on no
      // branch any more is then asked for by id.
      await git(['fetch', '--quiet', '--prune', '--no-tags', '--', repo, '+refs/heads/*:refs/heads/*'], { cwd: mirror });
      if (!(await hasCommit(mirror, commit))) {
        await git(['fetch', '--quiet', '--no-tags', '--', repo, commit], { cwd: mirror });
      }
      if (!(await hasCommit(mirror, commit))) throw new Error(`commit ${commit} is not in ${repo}`);
      return mirror;
    });
  }

  /** A worktree of `commit` for one job: an idle one of this mirror reset to it, or a new one. */
  async checkout(mirror: string, commit: string): Promise<string> {
    const idle = await this.idle.get(mirror)?.pop();
    if (idle) {
      try {
        await git(['checkout', '--quiet', '--detach', '--force', commit, '--'], { cwd: idle });
        return idle;
      } catch {
        await this.removeWorktree(mirror, idle);
      }
    }
    const path = join(this.workdir, 'worktrees', `${basename(mirror, '.git')}-${process.pid}-${++this.made}`);
    await mkdir(join(this.workdir, 'worktrees'), { recursive: true });
    await this.serialise(mirror, () => git(['worktree', 'add', '--quiet', '--detach', '--force', path, commit], { cwd: mirror }));
    return path;
  }

  /**
   * The job is over (its processes are gone): once cleaned, the worktree can
   * serve the next one. Cleaning now keeps it off the next job's way; a job
   * that comes sooner waits for the clean.
   */
  release(mirror: string, path: string): void {
    const cleaned = git(['clean', '--quiet', '-ffdx'], { cwd: path }).then(
      () => path,
      async () => {
        await this.removeWorktree(mirror, path);
        return null;
      },
    );
    const idle = this.idle.get(mirror) ?? [];
    idle.push(cleaned);
    this.idle.set(mirror, idle);
  }

  private async removeWorktree(mirror: string, path: string): Promise<void> {
    await this.serialise(mirror, async () => {
      await git(['worktree', 'remove', '--force', path], { cwd: mirror, allowFailure: true });
      await rm(path, { recursive: true, force: true });
      await git(['worktree', 'prune'], { cwd: mirror, allowFailure: true });
    });
  }

  /** At start: worktrees left by an earlier run are removed, and the mirrors forget them. */
  async removeStaleWorktrees(): Promise<void> {
    await rm(join(this.workdir, 'worktrees'), { recursive: true, force: true });
    await rm(join(this.workdir, 'jobs'), { recursive: true, force: true });
    const mirrors = join(this.workdir, 'mirrors');
    if (!existsSync(mirrors)) return;
    for (const name of await readdir(mirrors)) {
      await git(['worktree', 'prune'], { cwd: join(mirrors, name), allowFailure: true });
    }
  }
}

/** Points a new mirror at the objects of `repo` when it is a git repository in a folder here. */
async function borrowObjects(repo: string, mirror: string): Promise<void> {
  if (!isAbsolute(repo) || !existsSync(repo)) return;
  const probe = await git(['rev-parse', '--path-format=absolute', '--git-common-dir'], { cwd: repo, allowFailure: true });
  const objects = join(probe.stdout.trim(), 'objects');
  if (probe.code !== 0 || !existsSync(objects)) return;
  await mkdir(join(mirror, 'objects', 'info'), { recursive: true });
  await writeFile(join(mirror, 'objects', 'info', 'alternates'), `${objects}\n`);
}

async function hasCommit(mirror: string, commit: string): Promise<boolean> {
  const { code } = await git(['cat-file', '-e', `${commit}^{commit}`], { cwd: mirror, allowFailure: true });
  return code === 0;
}
