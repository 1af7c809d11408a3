// For component tests whose commits are made up: every commit gets the
// default job, without a repository to read keel.json from. The real lookup
// is tested in tests/dispatcher/job-source.test.ts and end to end.
import { DEFAULT_JOB } from '../../src/dispatcher/keel-json.js';
import type { DispatcherParts } from '../../src/dispatcher/dispatcher.js';

export const defaultJobs: DispatcherParts = {
  jobsFor: async () => ({ jobs: [DEFAULT_JOB], error: null }),
};
