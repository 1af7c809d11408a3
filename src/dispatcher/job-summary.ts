// Each job of a build in a few bounded fields, for the `finished` event and
// the outputs that follow from it (git notes, statuses, hooks).

import { LIMITS } from '../protocol/limits.js';
import type { BuildRecord, JobRecord, JobSummary } from '../protocol/records.js';
import { clip } from './queries.js';

export function summariseJob(job: JobRecord): JobSummary {
  return {
    name: job.name,
    title: clip(job.spec.title, LIMITS.printable),
    status: job.status,
    flaky: job.flaky,
    counts: job.counts,
    durationMs: job.durationMs,
    note: clip(job.message, LIMITS.printable),
  };
}

export function summariseJobs(build: BuildRecord): JobSummary[] {
  return build.jobs.slice(0, LIMITS.jobsPerBuild).map(summariseJob);
}
