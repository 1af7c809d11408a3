// A bare mirror per repository under <workdir>/mirrors, and a fresh worktree
// per job under <workdir>/jobs. Mirror updates for one repository are run one
// at a time, since two fetches into the same mirror would fight over its lock.
// Shared: the runner checks commits out of it, the dispatcher reads keel.json
// from it (job-source.ts).

import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { git } from './git.js';

export class Mirrors {
  private readonly locks = new Map<string, Promise<unknown>>();

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

  /** A detached worktree of `commit` at `path`. */
  async addWorktree(mirror: string, path: string, commit: string): Promise<void> {
    await mkdir(join(this.workdir, 'jobs'), { recursive: true });
    await this.serialise(mirror, () => git(['worktree', 'add', '--quiet', '--detach', '--force', path, commit], { cwd: mirror }));
  }

  async removeWorktree(mirror: string, path: string): Promise<void> {
    await this.serialise(mirror, async () => {
      await git(['worktree', 'remove', '--force', path], { cwd: mirror, allowFailure: true });
      await rm(path, { recursive: true, force: true });
      await git(['worktree', 'prune'], { cwd: mirror, allowFailure: true });
    });
  }

  jobPath(lease: string): string {
    return join(this.workdir, 'jobs', lease);
  }
}

async function hasCommit(mirror: string, commit: string): Promise<boolean> {
  const { code } = await git(['cat-file', '-e', `${commit}^{commit}`], { cwd: mirror, allowFailure: true });
  return code === 0;
}
