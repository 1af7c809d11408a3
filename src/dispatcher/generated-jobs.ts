// A generator's end, applied to its build (by the reducer, so live and at
// replay alike): the jobs it printed, already read and decided by the shell
// and carried in the `result` record, join the build and its queue; a
// generator that failed, or printed what cannot be used, ends the build as
// error with the reason. The jobs stay on the build's record, so `keel retry`
// runs them again without running the generator.

import type { BuildRecord, JobRecord, JobSpec } from '../protocol/records.js';
import { addJobs } from './build.js';
import type { JobDecisions } from './job-decisions.js';
import { KeelJsonError, parseGeneratedJobs } from './keel-json.js';

/** What the shell made of a generator's output: its jobs, or why there are none. */
export interface Generated {
  jobs: JobSpec[];
  error: string | null;
  decisions?: JobDecisions;
}

/** Applies the end of generator `job` (already finished by its outcome); returns the jobs it added (queued, or skipped by `when`). */
export function settleGenerator(build: BuildRecord, job: JobRecord, generated: Generated | undefined, now: Date): JobRecord[] {
  if (job.status === 'queued' || job.status === 'running') return [];
  if (job.status === 'failed') return fail(job, `the generator failed: ${job.message}`);
  if (job.status !== 'passed') return [];
  // A generator run again by hand: the jobs it made the first time stay the build's.
  if (build.jobs.some((other) => other.spec.generated)) return [];
  if (generated === undefined) return fail(job, 'the generator passed but its output did not reach the dispatcher');
  if (generated.error !== null) return fail(job, generated.error);
  return addJobs(build, generated.jobs.map((spec) => ({ ...spec, generated: true })), generated.decisions, now);
}

function fail(job: JobRecord, message: string): JobRecord[] {
  job.status = 'error';
  job.message = message;
  return [];
}

/** Reads a generator's stdout into its jobs and decides them; every failure becomes the reason. */
export async function readGenerated(
  build: BuildRecord,
  output: string | undefined,
  decide: (jobs: JobSpec[]) => Promise<JobDecisions | undefined>,
): Promise<Generated> {
  if (output === undefined) return { jobs: [], error: 'the generator passed but the runner sent no output (an older runner?)' };
  let jobs: JobSpec[];
  try {
    jobs = parseGeneratedJobs(output, build.jobs.map((job) => job.spec));
  } catch (error) {
    if (error instanceof KeelJsonError) return { jobs: [], error: error.message };
    throw error;
  }
  try {
    const decisions = await decide(jobs);
    return decisions ? { jobs, error: null, decisions } : { jobs, error: null };
  } catch (error) {
    return { jobs: [], error: `could not decide which generated jobs run: ${(error as Error).message}` };
  }
}
