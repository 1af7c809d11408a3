// The table of builds `keel status` prints, for the overview and a branch's history.

import type { BuildSummary } from '../protocol/records.js';
import { table } from './table.js';

export function duration(ms: number | null): string {
  return ms === null ? '-' : `${(ms / 1000).toFixed(1)}s`;
}

/** "3/4 passed" and the like: how far its jobs are. */
function jobsOf(build: BuildSummary): string {
  const total = Object.values(build.jobs).reduce((sum, n) => sum + (n ?? 0), 0);
  const passed = build.jobs.passed ?? 0;
  return `${passed}/${total}`;
}

export function buildTable(builds: BuildSummary[]): string[] {
  const rows = builds.map((b) => [
    b.commit.slice(0, 12), `${b.status}${b.flaky ? (b.status === 'passed' ? ' (flaky)' : ' (a job flaky)') : ''}${b.unwritten ? ' (files not written)' : ''}`, jobsOf(b),
    b.runners.join(',') || '-', duration(b.durationMs),
    `${b.project ? `${b.project}:` : ''}${b.subject.kind === 'push' ? '' : `${b.subject.kind} ${b.subject.requests.join(',') || b.subject.request} `}${b.ref}`, b.note,
  ]);
  return table(['COMMIT', 'STATUS', 'PASSED', 'RUNNERS', 'DURATION', 'REF', 'NOTE'], rows);
}
