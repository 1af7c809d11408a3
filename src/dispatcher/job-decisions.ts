// What is decided about a build's jobs before they are queued, and journaled
// with them so that replay needs no git and no secrets file: the jobs whose
// `when` does not hold (skipped, with the reason) and the secrets each job
// is given or denied (names only). Decided when a commit arrives, and for the
// jobs a generator prints when they arrive.

import type { BuildRecord, JobSpec, SecretGrant, SubjectKind } from '../protocol/records.js';
import { needsChangedPaths, unmetCondition } from './job-conditions.js';
import { grantFor, type SecretStore } from './secrets.js';

export interface JobDecisions {
  /** Job id → why it is skipped. */
  skipped: Record<string, string>;
  /** Job id → the secrets it asked for, given or withheld. */
  grants: Record<string, SecretGrant>;
}

export interface BuildFacts {
  branch: string | null;
  subject: SubjectKind;
  /** The files the commit changes (asked only when some `when` has paths); null: every file (a first commit). */
  changed(): Promise<readonly string[] | null>;
}

/** The decisions for `specs`; undefined when there is nothing to decide (no `when`, no `secrets`). */
export async function decideJobs(specs: readonly JobSpec[], facts: BuildFacts, store: SecretStore | null): Promise<JobDecisions | undefined> {
  if (!specs.some((spec) => spec.when !== undefined || (spec.secrets?.length ?? 0) > 0)) return undefined;
  const changed = needsChangedPaths(specs.map((spec) => spec.when)) ? await facts.changed() : null;
  const decisions: JobDecisions = { skipped: {}, grants: {} };
  for (const spec of specs) {
    const unmet = unmetCondition(spec.when, { branch: facts.branch, subject: facts.subject, changed });
    if (unmet !== null) decisions.skipped[spec.id] = unmet;
    const grant = grantFor(spec, facts, store);
    if (grant !== undefined) decisions.grants[spec.id] = grant;
  }
  return decisions;
}

/**
 * The jobs `keel retry` runs again when it is not told which: all of them,
 * but for a generator that passed (its jobs are on record) and jobs whose
 * `when` did not hold (it still does not). Null: every job.
 */
export function jobsToRerun(build: BuildRecord): string[] | null {
  const generated = build.jobs.some((job) => job.spec.generator && job.status === 'passed');
  const kept = build.jobs.filter((job) => !(generated && job.spec.generator) && !(job.status === 'skipped' && job.spec.when !== undefined));
  return kept.length === build.jobs.length ? null : kept.map((job) => job.name);
}
