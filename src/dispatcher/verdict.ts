// A build's verdict in words, and what is true of the build as a whole, for
// the report, `keel status` and the log. With several jobs, "FAILED
// (flaky)" read as if the failing job were the flaky one: the verdict names
// which jobs failed and which passed only on a retry. And a build of several
// jobs has no one runner or attempt count: it has the runners its jobs ran
// on, and its jobs' statuses; each job has its own runner and attempts.

import type { BuildRecord, JobRecord } from '../protocol/records.js';
import { isFinished } from './build.js';

const SHOWN = 3;

function names(jobs: JobRecord[]): string {
  const shown = jobs.slice(0, SHOWN).map((job) => job.name).join(', ');
  return jobs.length > SHOWN ? `${shown} and ${jobs.length - SHOWN} more` : shown;
}

/** "passed", "failed (failed: unit; flaky: lint passed on a retry)", … in lower case. */
export function verdict(build: BuildRecord): string {
  const flaky = build.jobs.filter((job) => job.flaky);
  if (!isFinished(build.status)) return build.status;
  if (build.jobs.length <= 1) return `${build.status}${build.flaky ? ' (flaky: passed on a retry)' : ''}`;
  const passedOnRetry = flaky.length > 0 ? `flaky: ${names(flaky)} passed on a retry` : '';
  if (build.status === 'passed') return passedOnRetry ? `passed (${passedOnRetry})` : 'passed';
  const culprits = build.jobs.filter((job) => job.status === build.status);
  const why = [`${build.status}: ${names(culprits)}`, ...(passedOnRetry ? [passedOnRetry] : [])];
  return `${build.status} (${why.join('; ')})`;
}

/** The verdict with its status in capitals, as the report heads it. */
export function shoutedVerdict(build: BuildRecord): string {
  return verdict(build).replace(/^\w+/, (status) => status.toUpperCase());
}

/**
 * Label and value of the lines that say who ran the build: with one job its
 * runner and attempts; with several, the runners of this run and the jobs by
 * status (each job says its own runner and attempts).
 */
export function whoRan(build: BuildRecord): Array<[string, string]> {
  if (build.jobs.length <= 1) {
    const job = build.jobs[0];
    return [['runner', job?.runner ?? build.runner ?? '-'], ['attempts', String(job?.attempts.length ?? build.attempts)]];
  }
  const runners = [...new Set(build.jobs.flatMap((job) => job.attempts.filter((a) => (a.run ?? 1) === build.run).map((a) => a.runner)))];
  const counts = new Map<string, number>();
  for (const job of build.jobs) counts.set(job.status, (counts.get(job.status) ?? 0) + 1);
  const flaky = build.jobs.filter((job) => job.flaky).length;
  const byStatus = [...counts].map(([status, n]) => `${n} ${status}`).concat(flaky > 0 ? [`${flaky} flaky`] : []);
  return [['runners', runners.join(', ') || '-'], ['jobs', `${build.jobs.length}: ${byStatus.join(', ')}`]];
}
