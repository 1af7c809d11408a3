// The `job` message a runner gets for one attempt of a job: everything it
// needs to run it, and nothing else of the build. Secret values, when the job
// was granted some, are added here and nowhere else: the message is sent,
// never journaled.

import type { Job } from '../protocol/messages.js';
import type { BuildRecord, JobRecord } from '../protocol/records.js';
import { keyOf } from './records.js';

/**
 * `artifactBytes`: what the build's artifacts may hold in all (--max-artifact-mib); a runner sends no more for one job.
 * `secrets`: the values granted to this attempt alone.
 */
export function jobMessage(build: BuildRecord, job: JobRecord, lease: string, attempt: number, artifactBytes: number, secrets: Record<string, string> = {}): Job {
  const { spec } = job;
  return {
    type: 'job', lease, attempt, job: job.name, title: spec.title,
    commit: build.commit, repo: build.repo, ref: build.ref,
    timeoutMs: spec.timeoutMs, run: spec.run, env: spec.env, junit: spec.junit,
    artifacts: spec.artifacts ?? [], artifactBytes,
    build: keyOf(build), subject: build.subject.kind, base: build.subject.base,
    ...(spec.generator ? { generate: true } : {}),
    ...(Object.keys(secrets).length > 0 ? { secrets } : {}),
  };
}
