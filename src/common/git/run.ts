// The one way Keel runs git: an argument array (never a shell string) and an
// environment built once, at start, from the process's own (see
// createGitContext), not read again by anything below main. The caller's
// GIT_* variables are left out (a hook's GIT_DIR must not redirect us), and
// so is any author: a call that makes a commit names who makes it.

import { execFile } from 'node:child_process';
import { ErrorCode, KeelError } from '../../protocol/error-codes.js';

/** A git command that exited non-zero; `stderr` says why. */
export class GitError extends KeelError {
  override readonly name = 'GitError';

  constructor(message: string, readonly stderr: string, options?: { cause?: unknown }) {
    super(ErrorCode.gitFailed, message, options);
  }
}

/** What every git call of a process runs with; made once by its main and handed to the parts that run git. */
export interface GitContext {
  readonly env: Readonly<NodeJS.ProcessEnv>;
}

/** Who a commit is by: author and committer alike. */
export interface Identity {
  readonly name: string;
  readonly email: string;
}

export interface GitOptions {
  cwd: string;
  /** Resolve with the exit code instead of throwing when git fails. */
  allowFailure?: boolean;
  /** Author and committer of any commit the call makes; required by the commands in MAKES_COMMITS. */
  identity?: Identity;
}

export interface GitResult {
  stdout: string;
  stderr: string;
  code: number;
}

const MAX_OUTPUT = 256 * 1024 * 1024;

/**
 * Sub-commands that may write a commit. Without an identity git would fall
 * back on whatever user.name the machine has, or fail only on a machine
 * without one, so they are refused here instead, the same everywhere.
 */
const MAKES_COMMITS: ReadonlySet<string> = new Set(['am', 'cherry-pick', 'commit', 'commit-tree', 'merge', 'notes', 'rebase', 'revert']);

/** The environment git runs with, from `base` (main's process.env). */
export function createGitContext(base: NodeJS.ProcessEnv): GitContext {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(base)) {
    if (!key.startsWith('GIT_') && !key.startsWith('KEEL_')) env[key] = value;
  }
  env.GIT_TERMINAL_PROMPT = '0';
  env.LC_ALL = 'C';
  return Object.freeze({ env: Object.freeze(env) });
}

/** `context`'s environment, with `identity` as author and committer when given. */
export function gitEnv(context: GitContext, identity?: Identity): NodeJS.ProcessEnv {
  if (identity === undefined) return context.env;
  return {
    ...context.env,
    GIT_AUTHOR_NAME: identity.name,
    GIT_AUTHOR_EMAIL: identity.email,
    GIT_COMMITTER_NAME: identity.name,
    GIT_COMMITTER_EMAIL: identity.email,
  };
}

export function git(context: GitContext, args: string[], options: GitOptions): Promise<GitResult> {
  if (options.identity === undefined && MAKES_COMMITS.has(args[0] ?? '')) {
    return Promise.reject(new Error(`git ${args[0]} may make a commit: pass the identity to make it as`));
  }
  const env = gitEnv(context, options.identity);
  return new Promise((resolve, reject) => {
    execFile('git', args, { cwd: options.cwd, env, maxBuffer: MAX_OUTPUT, encoding: 'utf8' }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      if (error && !options.allowFailure) {
        reject(new GitError(`git ${args[0]} failed: ${gitReason(stderr) || error.message}`, stderr, { cause: error }));
        return;
      }
      resolve({ stdout, stderr, code });
    });
  });
}

const REASON_LINES = 4;
const REASON_CHARS = 600;

/**
 * git's own words for a failure: the first few lines of its stderr, on one
 * line. The first lines carry the cause ("fatal: detected dubious ownership
 * in repository at …" and how to allow it); the last is often a generic
 * afterword ("… and the repository exists."), which alone hid the cause.
 */
export function gitReason(stderr: string): string {
  const lines = stderr.split('\n').map((line) => line.trim()).filter((line) => line !== '').slice(0, REASON_LINES);
  const reason = lines.join(' / ');
  return reason.length <= REASON_CHARS ? reason : `${reason.slice(0, REASON_CHARS - 1)}…`;
}
