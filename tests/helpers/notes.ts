// Reading git notes the way a person would: from a repository's notes ref,
// or from a fresh clone that fetches the ref and asks git log.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { GIT_ENV, git } from './git-repo.js';
import { tempDir } from './temp.js';

/** The note `ref` holds for `commit` in `repo`, or null when it has none. */
export function noteOf(repo: string, commit: string, ref = 'refs/notes/keel', env: NodeJS.ProcessEnv = GIT_ENV): string | null {
  try {
    return execFileSync('git', ['notes', `--ref=${ref}`, 'show', commit], { cwd: repo, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch {
    return null;
  }
}

/** Clones `url` afresh, fetches refs/notes/keel and returns what `git log --notes=keel` shows of `commit`. */
export function logWithNotes(t: TestContext, url: string, commit: string, env: NodeJS.ProcessEnv = GIT_ENV): string {
  const fresh = join(tempDir(t, 'keel-fresh-'), 'clone');
  const run = (cwd: string, ...args: string[]) => execFileSync('git', args, { cwd, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  run(join(fresh, '..'), 'clone', '-q', url, fresh);
  run(fresh, 'fetch', '-q', 'origin', 'refs/notes/keel:refs/notes/keel');
  return run(fresh, 'log', '--notes=keel', '-1', commit);
}

/** Every commit `ref` has a note for in `repo`. */
export function notedCommits(repo: string, ref = 'refs/notes/keel'): string[] {
  try {
    return git(repo, 'notes', `--ref=${ref}`, 'list').split('\n').filter(Boolean).map((line) => line.split(' ')[1]!);
  } catch {
    return [];
  }
}
