// A branch's builds, newest first, for `keel status --branch` and the status
// page: on the first page the ones still in the state (queued, running,
// finished with files not yet written), then the finished ones from the
// build index, a page at a time.

import type { BuildSummary } from '../protocol/records.js';
import type { BuildIndex, HistoryPage } from './build-index.js';
import { summarise } from './queries.js';
import { keyOf } from './records.js';
import type { State } from './state.js';

/** The builds of `ref` in `project` the state holds, newest first. */
export function activeOf(state: State, project: string | null, ref: string): BuildSummary[] {
  return [...state.builds.values()]
    .filter((build) => build.project === project && build.ref === ref)
    .sort((a, b) => b.queuedAt.localeCompare(a.queuedAt))
    .map((build) => summarise(build, state.unwritten.has(keyOf(build))));
}

export async function branchHistory(state: State, index: BuildIndex, request: { project: string | null; ref: string; before: number | null; limit: number }): Promise<HistoryPage> {
  const { project, ref, before, limit } = request;
  const active = before === null ? activeOf(state, project, ref) : [];
  if (active.length >= limit) return { builds: active.slice(0, limit), next: await index.end() };
  const page = await index.page(project, ref, before, limit - active.length);
  return { builds: [...active, ...page.builds], next: page.next };
}
