// The observer's own bare repository for the git work it does, under its
// --state: merges and squashes are made there (with `git merge-tree` and
// `git commit-tree`, so nothing is checked out), patches are applied in a
// worktree of it, never in the clone's work tree, which someone may be using. It borrows the clone's objects, and a
// local origin's, so what it needs is mostly there without a transfer; it
// reads and writes origin by its URL.

import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import { git, type GitContext, type Identity } from '../common/git/run.js';
import { fetchableUrl } from './clone-info.js';

export interface ScratchSettings {
  clone: string;
  hasOrigin: boolean;
  originGitDir: string | null;
  scratchDir: string;
  git: GitContext;
  identity: Identity;
}

export class ScratchRepo {
  private ready: Promise<{ path: string; origin: string }> | null = null;

  constructor(private readonly settings: ScratchSettings) {}

  /** The scratch repository's path and origin's URL, once the repository exists. */
  open(): Promise<{ path: string; origin: string }> {
    this.ready ??= this.create().catch((error: unknown) => {
      this.ready = null;
      throw error;
    });
    return this.ready;
  }

  /** Runs git in the scratch repository (or in `cwd`, a worktree of it). */
  async run(args: string[], options: { allowFailure?: boolean; identity?: boolean; cwd?: string } = {}) {
    const { path } = await this.open();
    return git(this.settings.git, args, {
      cwd: options.cwd ?? path, allowFailure: options.allowFailure, ...(options.identity ? { identity: this.settings.identity } : {}),
    });
  }

  private async create(): Promise<{ path: string; origin: string }> {
    const { clone, git: context, scratchDir, originGitDir, hasOrigin } = this.settings;
    const origin = hasOrigin ? await originUrl(context, clone) : clone;
    const path = join(scratchDir, 'gate.git');
    if (!existsSync(join(path, 'HEAD'))) {
      await mkdir(scratchDir, { recursive: true });
      await git(context, ['init', '--quiet', '--bare', path], { cwd: scratchDir });
    }
    // Patches are applied in a worktree of it: no hook of anyone's runs there.
    await git(context, ['config', 'core.hooksPath', '/dev/null'], { cwd: path });
    const borrowed = [await objectsOf(context, clone), originGitDir === null ? null : join(originGitDir, 'objects')].filter((dir): dir is string => dir !== null);
    await writeFile(join(path, 'objects', 'info', 'alternates'), borrowed.map((dir) => `${dir}\n`).join(''));
    return { path, origin };
  }
}

async function originUrl(context: GitContext, clone: string): Promise<string> {
  const { stdout } = await git(context, ['config', '--get', 'remote.origin.url'], { cwd: clone });
  return fetchableUrl(stdout.trim(), clone);
}

async function objectsOf(context: GitContext, repo: string): Promise<string | null> {
  const probe = await git(context, ['rev-parse', '--path-format=absolute', '--git-common-dir'], { cwd: repo, allowFailure: true });
  const dir = probe.stdout.trim();
  return probe.code === 0 && isAbsolute(dir) ? join(dir, 'objects') : null;
}
