// A real repository for dispatcher benchmarks: the dispatcher reads each
// commit's keel.json from it, so the commits must exist. `git fast-import`
// writes thousands of them in well under a second.

import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { git, GIT_ENV } from './support.js';

export interface BenchRepo {
  path: string;
  /** Makes `count` new commits on main (no keel.json: the default job) and returns them oldest first. */
  commits(count: number): string[];
}

export function makeBenchRepo(dir: string): BenchRepo {
  const path = join(dir, 'bench.git');
  git(dir, 'init', '--quiet', '--bare', '-b', 'main', path);
  let made = 0;
  return {
    path,
    commits(count) {
      const parent = made > 0 ? git(path, 'rev-parse', 'refs/heads/main') : null;
      const lines: string[] = [];
      for (let i = 0; i < count; i++) {
        const message = `bench commit ${made + i}`;
        lines.push('commit refs/heads/main', `committer Keel Bench <bench@keel.invalid> ${1_700_000_000 + made + i} +0000`, `data ${Buffer.byteLength(message)}`, message);
        if (i === 0 && parent) lines.push(`from ${parent}`);
        lines.push('');
      }
      execFileSync('git', ['fast-import', '--quiet'], { cwd: path, env: GIT_ENV, input: `${lines.join('\n')}\n` });
      made += count;
      return git(path, 'rev-list', '--reverse', `--max-count=${count}`, 'refs/heads/main').split('\n');
    },
  };
}
