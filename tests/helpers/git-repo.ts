// Real git repositories in temp folders, with an identity of their own
// because a fresh machine has none.
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { TestContext } from 'node:test';
import { tempDir } from './temp.js';

export const GIT_ENV: NodeJS.ProcessEnv = {
  ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('GIT_'))),
  GIT_AUTHOR_NAME: 'Keel Test',
  GIT_AUTHOR_EMAIL: 'test@keel.invalid',
  GIT_COMMITTER_NAME: 'Keel Test',
  GIT_COMMITTER_EMAIL: 'test@keel.invalid',
  GIT_CONFIG_NOSYSTEM: '1',
};

export function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd, env: GIT_ENV, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

/** A non-bare repository on branch main with no commits. */
export function makeRepo(t: TestContext): string {
  const dir = tempDir(t, 'keel-repo-');
  git(dir, 'init', '-q', '-b', 'main');
  return dir;
}

/** A bare central repository plus a clone of it (the observer's view). */
export function makeCentralAndClone(t: TestContext): { central: string; clone: string; work: string } {
  const root = tempDir(t, 'keel-central-');
  const central = join(root, 'central.git');
  const work = join(root, 'work');
  const clone = join(root, 'clone');
  git(root, 'init', '-q', '--bare', '-b', 'main', central);
  git(root, 'clone', '-q', central, work);
  git(work, 'checkout', '-q', '-b', 'main');
  return { central, clone, work };
}

/** Writes files (path → content; executable when the path ends in .sh) and commits them. Returns the new sha. */
export function commitFiles(repo: string, files: Record<string, string>, message = 'change'): string {
  for (const [path, content] of Object.entries(files)) {
    const full = join(repo, path);
    mkdirSync(dirname(full), { recursive: true });
    writeFileSync(full, content);
    if (path.endsWith('.sh')) chmodSync(full, 0o755);
  }
  git(repo, 'add', '-A');
  git(repo, 'commit', '-q', '--allow-empty', '-m', message);
  return git(repo, 'rev-parse', 'HEAD');
}
