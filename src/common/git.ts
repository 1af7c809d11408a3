// The one way Keel runs git: an argument array (never a shell string), an
// environment without the caller's GIT_* variables (a hook's GIT_DIR must not
// redirect us), and a fixed identity for the commits Keel itself makes.

import { execFile } from 'node:child_process';
import { GitError } from './errors.js';

export interface GitOptions {
  cwd: string;
  /** Resolve with the exit code instead of throwing when git fails. */
  allowFailure?: boolean;
}

export interface GitResult {
  stdout: string;
  stderr: string;
  code: number;
}

const MAX_OUTPUT = 256 * 1024 * 1024;

export function gitEnv(base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(base)) {
    if (!key.startsWith('GIT_') && !key.startsWith('KEEL_')) env[key] = value;
  }
  env.GIT_TERMINAL_PROMPT = '0';
  env.GIT_AUTHOR_NAME = env.GIT_COMMITTER_NAME = 'Keel';
  env.GIT_AUTHOR_EMAIL = env.GIT_COMMITTER_EMAIL = 'keel@localhost';
  env.LC_ALL = 'C';
  return env;
}

const env = gitEnv();

export function git(args: string[], options: GitOptions): Promise<GitResult> {
  return new Promise((resolve, reject) => {
    execFile('git', args, { cwd: options.cwd, env, maxBuffer: MAX_OUTPUT, encoding: 'utf8' }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      if (error && !options.allowFailure) {
        const reason = stderr.trim().split('\n').pop() || error.message;
        reject(new GitError(`git ${args[0]} failed: ${reason}`, stderr, { cause: error }));
        return;
      }
      resolve({ stdout, stderr, code });
    });
  });
}
