// keel.json's `when`, decided: a job runs only when its branch, subject and
// changed paths are what it asks for, and otherwise is recorded skipped with
// the reason. Pure: the facts (which branch, which files changed) are found
// by the caller. Globs are the usual ones: `*` and `?` stay within a path
// segment, `**` crosses them (`src/**` is everything under src/), and a
// pattern without `/` for paths matches at any depth (`*.md`).

import type { JobCondition, SubjectKind } from '../protocol/records.js';

export interface ConditionFacts {
  /** The branch built, short (`main`): a push's ref, the target of a try or land, the trunk a patch follows; null when there is none. */
  branch: string | null;
  subject: SubjectKind;
  /** The files the commit changes against its first parent or its subject's base; null: all of them (a first commit). */
  changed: readonly string[] | null;
}

const cache = new Map<string, RegExp>();

/** The regular expression a glob stands for, anchored at both ends. */
export function globToRegExp(glob: string): RegExp {
  let regexp = cache.get(glob);
  if (regexp) return regexp;
  let source = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*' && glob[i + 1] === '*') {
      // "a/**/b" also matches "a/b"; "a/**" everything below a.
      const slash = glob[i + 2] === '/';
      source += slash ? '(?:.*/)?' : '.*';
      i += slash ? 2 : 1;
    } else if (c === '*') {
      source += '[^/]*';
    } else if (c === '?') {
      source += '[^/]';
    } else {
      source += c.replace(/[\\^$.|+()[\]{}]/g, '\\$&');
    }
  }
  regexp = new RegExp(`^${source}$`);
  if (cache.size > 1000) cache.clear();
  cache.set(glob, regexp);
  return regexp;
}

export function matchesGlob(value: string, glob: string): boolean {
  return globToRegExp(glob).test(value);
}

/** `refs/heads/main` → `main`; anything else is no branch. */
export function branchOfRef(ref: string): string | null {
  return ref.startsWith('refs/heads/') ? ref.slice('refs/heads/'.length) : null;
}

function pathMatches(path: string, glob: string): boolean {
  return matchesGlob(path, glob) || (!glob.includes('/') && matchesGlob(path.slice(path.lastIndexOf('/') + 1), glob));
}

/** Why the job does not run, or null when its condition holds (or it has none). */
export function unmetCondition(when: JobCondition | undefined, facts: ConditionFacts): string | null {
  if (when === undefined) return null;
  if (when.subjects && !when.subjects.includes(facts.subject)) {
    return `when.subjects: a ${facts.subject} build is not one of ${when.subjects.join(', ')}`;
  }
  if (when.branches && !(facts.branch !== null && when.branches.some((glob) => matchesGlob(facts.branch!, glob)))) {
    const what = facts.branch === null ? 'the build is of no branch' : `branch ${facts.branch} is not`;
    return `when.branches: ${what} ${facts.branch === null ? `(wanted ${when.branches.join(', ')})` : `one of ${when.branches.join(', ')}`}`;
  }
  if (when.paths && facts.changed !== null && !facts.changed.some((path) => when.paths!.some((glob) => pathMatches(path, glob)))) {
    const count = facts.changed.length;
    return `when.paths: none of the ${count} changed file${count === 1 ? '' : 's'} matches ${when.paths.join(', ')}`;
  }
  return null;
}

/** Whether deciding `when` for these conditions needs the changed files (git work). */
export function needsChangedPaths(conditions: ReadonlyArray<JobCondition | undefined>): boolean {
  return conditions.some((when) => when?.paths !== undefined);
}
