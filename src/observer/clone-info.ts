// What the observer needs to know about its clone before it starts: that it
// is the top of a git repository, whether it has an `origin`, what runners
// should fetch from by default, and, when origin is a folder on this machine,
// where its refs live so that a push can be seen the moment it lands.

import { realpath } from 'node:fs/promises';
import { resolve } from 'node:path';
import { ConfigError } from '../common/errors.js';
import { git, type GitContext } from '../common/git/run.js';
import { isRepoUrl } from '../protocol/validate.js';

export interface CloneInfo {
  /** Canonical absolute path, so two spellings of one clone share a cursor. */
  readonly path: string;
  readonly hasOrigin: boolean;
  readonly defaultRepoUrl: string;
  /** Origin's git folder (the common one, where refs live) when origin is a local path; else null. */
  readonly originGitDir: string | null;
}

export async function inspectClone(context: GitContext, given: string): Promise<CloneInfo> {
  const notARepo = (why: string) => new ConfigError(`<clone> must be a git repository, got "${given}" (${why})`);
  let path: string;
  try {
    path = await realpath(resolve(given));
  } catch (error) {
    throw notARepo((error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such folder' : (error as Error).message);
  }
  const probe = await git(context, ['rev-parse', '--is-bare-repository', '--absolute-git-dir'], { cwd: path, allowFailure: true });
  if (probe.code !== 0) throw notARepo('git does not recognise it');
  const [bare, gitDir] = probe.stdout.trim().split('\n');
  // A folder inside a work tree also satisfies rev-parse; only the top will do,
  // or the cursor would be keyed to a path that is not the clone.
  const top = bare === 'true'
    ? gitDir
    : (await git(context, ['rev-parse', '--show-toplevel'], { cwd: path, allowFailure: true })).stdout.trim();
  if (top === '') throw notARepo(`it is the git folder ${gitDir}, not a work tree`);
  if (top !== path) throw notARepo(`it is inside the repository at ${top}; give that folder`);

  const origin = await git(context, ['config', '--get', 'remote.origin.url'], { cwd: path, allowFailure: true });
  const originUrl = origin.code === 0 ? origin.stdout.trim() : '';
  return {
    path,
    hasOrigin: originUrl !== '',
    defaultRepoUrl: originUrl === '' ? path : fetchableUrl(originUrl, path),
    originGitDir: originUrl === '' ? null : await localGitDir(context, originUrl, path),
  };
}

/**
 * Where a local origin keeps its refs: `<path>` for a bare repository,
 * `<path>/.git` for a work tree, the common folder for a linked worktree.
 * Null for a URL (file:// included: git treats it as a transport, and it may
 * name another machine's mount), or when the folder is not a repository (yet);
 * polling covers those.
 */
async function localGitDir(context: GitContext, url: string, clone: string): Promise<string | null> {
  if (!isLocalPath(url)) return null;
  const probe = await git(context, ['rev-parse', '--path-format=absolute', '--git-common-dir'], { cwd: resolve(clone, url), allowFailure: true });
  const dir = probe.stdout.trim();
  return probe.code === 0 && dir !== '' ? dir : null;
}

/** git's own rule: no `://`, and no `:` before the first `/` (else it is scp-like host:path). */
function isLocalPath(url: string): boolean {
  if (url.includes('://')) return false;
  const colon = url.indexOf(':');
  const slash = url.indexOf('/');
  return colon === -1 || (slash !== -1 && slash < colon);
}

/**
 * Origin's URL as a runner elsewhere on this machine can use it: a relative
 * local path (`../central.git`) means nothing outside the clone, so it is made
 * absolute against the clone, where git itself resolves it.
 */
export function fetchableUrl(url: string, clone: string): string {
  if (isRepoUrl(url)) return url;
  const looksLocal = url.startsWith('.') || !url.includes(':');
  return looksLocal ? resolve(clone, url) : url;
}
