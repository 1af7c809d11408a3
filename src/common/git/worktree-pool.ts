// Worktrees of the mirrors (mirror.ts) under <workdir>/worktrees, one per
// running job.
//
// A worktree is reused by the next job of the same repository: cleaned with
// `clean -ffdx` when its job ends and reset with `checkout --force` when the
// next one starts, so the job still starts from exactly the commit and
// nothing of the last run is left, but only the files that differ are
// written — `git worktree add` of a large tree costs far more.

import { mkdir, rm } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { Mirrors } from './mirror.js';
import { git, type GitContext } from './run.js';

export interface WorktreePoolOptions {
  workdir: string;
  mirrors: Mirrors;
  git: GitContext;
}

export class WorktreePool {
  /** Worktrees no job is using, per mirror: each once it is cleaned (null if it could not be). */
  private readonly idle = new Map<string, Array<Promise<string | null>>>();
  private made = 0;
  private readonly root: string;

  constructor(private readonly options: WorktreePoolOptions) {
    this.root = join(options.workdir, 'worktrees');
  }

  /** A worktree of `commit` for one job: an idle one of this mirror reset to it, or a new one. */
  async checkout(mirror: string, commit: string): Promise<string> {
    const idle = await this.idle.get(mirror)?.pop();
    if (idle) {
      try {
        await this.git(['checkout', '--quiet', '--detach', '--force', commit, '--'], idle);
        return idle;
      } catch {
        await this.removeWorktree(mirror, idle);
      }
    }
    const path = join(this.root, `${basename(mirror, '.git')}-${process.pid}-${++this.made}`);
    await mkdir(this.root, { recursive: true });
    await this.options.mirrors.withLock(mirror, () => this.git(['worktree', 'add', '--quiet', '--detach', '--force', path, commit], mirror));
    return path;
  }

  /**
   * The job is over (its processes are gone): once cleaned, the worktree can
   * serve the next one. Cleaning now keeps it off the next job's way; a job
   * that comes sooner waits for the clean.
   */
  release(mirror: string, path: string): void {
    const cleaned = this.git(['clean', '--quiet', '-ffdx'], path).then(
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

  /** At start: worktrees left by an earlier run are removed, and the mirrors forget them. */
  async removeStale(): Promise<void> {
    await rm(this.root, { recursive: true, force: true });
    // Where jobs ran before worktrees were pooled.
    await rm(join(this.options.workdir, 'jobs'), { recursive: true, force: true });
    for (const mirror of await this.options.mirrors.list()) {
      await this.git(['worktree', 'prune'], mirror, true);
    }
  }

  private async removeWorktree(mirror: string, path: string): Promise<void> {
    await this.options.mirrors.withLock(mirror, async () => {
      await this.git(['worktree', 'remove', '--force', path], mirror, true);
      await rm(path, { recursive: true, force: true });
      await this.git(['worktree', 'prune'], mirror, true);
    });
  }

  private git(args: string[], cwd: string, allowFailure = false) {
    return git(this.options.git, args, { cwd, allowFailure });
  }
}
