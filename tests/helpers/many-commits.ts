// Many commits at once, made with one `git fast-import` rather than a git
// process per commit: a thousand take a fraction of a second.
import { execFileSync } from 'node:child_process';
import { GIT_ENV, git } from './git-repo.js';

/**
 * Adds `count` commits on `branch` of the repository `repo` (on top of its
 * current tip, if the branch has one), each changing `counter.txt`; the
 * first also writes `files` (executable when the path ends in .sh). Returns
 * the shas, oldest first.
 */
export function manyCommits(repo: string, count: number, options: { branch?: string; files?: Record<string, string> } = {}): string[] {
  const branch = options.branch ?? 'main';
  const ref = `refs/heads/${branch}`;
  const parent = (() => {
    try {
      return git(repo, 'rev-parse', '--verify', '--quiet', ref);
    } catch {
      return null;
    }
  })();
  const data = (text: string) => `data ${Buffer.byteLength(text)}\n${text}\n`;
  const parts: string[] = [];
  for (let i = 1; i <= count; i += 1) {
    parts.push(`commit ${ref}\n`, `mark :${i}\n`, `committer Keel Test <test@keel.invalid> ${1_700_000_000 + i} +0000\n`, data(`commit ${i}`));
    if (i > 1) parts.push(`from :${i - 1}\n`);
    else if (parent) parts.push(`from ${parent}\n`);
    if (i === 1) {
      for (const [path, content] of Object.entries(options.files ?? {})) {
        parts.push(`M ${path.endsWith('.sh') ? '100755' : '100644'} inline ${path}\n`, data(content));
      }
    }
    parts.push('M 100644 inline counter.txt\n', data(String(i)));
  }
  execFileSync('git', ['fast-import', '--quiet'], { cwd: repo, env: GIT_ENV, input: parts.join('') });
  // The marks are not kept; the shas come back from the branch, oldest first.
  const listed = git(repo, 'rev-list', '--reverse', `--max-count=${count}`, ref).split('\n');
  return listed;
}
