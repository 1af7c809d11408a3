// Short commit ids: which commits of the builds the dispatcher knows start
// with a prefix — active builds, the recent ones, and every build with
// result files in the project's folder (its reports are named by commit).
// The CLI resolves a short id with it before asking about the commit, and
// names the candidates when there are several.

import { readdir } from 'node:fs/promises';
import { LIMITS } from '../protocol/limits.js';
import type { Commits } from '../protocol/messages.js';
import { isCommitId } from '../protocol/validate.js';
import type { ResultStore } from './result-store.js';
import type { State } from './state.js';

export async function findCommit(state: State, results: ResultStore, project: string | null, prefix: string): Promise<Commits> {
  const found = new Set<string>();
  for (const build of [...state.builds.values(), ...state.recent]) {
    if (build.project === project && build.commit.startsWith(prefix)) found.add(build.commit);
  }
  let names: string[] = [];
  try {
    names = await readdir(results.folderOf(project));
  } catch {
    // No results folder yet: nothing finished there.
  }
  // The report is named <sha> alone: the other files (<sha>.json, .log) would only repeat it.
  for (const name of names) if (name.startsWith(prefix) && isCommitId(name)) found.add(name);
  const commits = [...found].sort();
  return { type: 'commits', prefix, commits: commits.slice(0, LIMITS.commitMatches), more: commits.length > LIMITS.commitMatches };
}
