// One job from start to finish: make sure the mirror has the commit, check it
// out into a fresh worktree, run the tests there, and remove the worktree.
// Every way this can go wrong ends as a RunOutcome, never as a throw.

import type { Job } from '../protocol/messages.js';
import type { RunOutcome } from '../protocol/records.js';
import type { Mirrors } from '../common/mirrors.js';
import { runTests, type OutputSink } from './run-tests.js';
import { chooseTestCommand, NoTestsError } from './test-command.js';
import { testEnv } from './test-env.js';

export interface JobOptions {
  mirrors: Mirrors;
  timeoutMs: number;
  killGraceMs: number;
  output: OutputSink;
  signal: AbortSignal;
}

function errorOutcome(startedAt: Date, message: string): RunOutcome {
  return {
    status: 'error', exitCode: null, signal: null, timedOut: false,
    startedAt: startedAt.toISOString(), durationMs: Date.now() - startedAt.getTime(),
    command: [], message, counts: null,
  };
}

export async function runJob(job: Job, options: JobOptions): Promise<RunOutcome> {
  const startedAt = new Date();
  const { mirrors } = options;
  let mirror: string;
  try {
    mirror = await mirrors.ensureCommit(job.repo, job.commit);
  } catch (error) {
    return errorOutcome(startedAt, `fetch failed: ${(error as Error).message}`);
  }
  const worktree = mirrors.jobPath(job.lease);
  try {
    await mirrors.addWorktree(mirror, worktree, job.commit);
  } catch (error) {
    return errorOutcome(startedAt, `checkout failed: ${(error as Error).message}`);
  }
  try {
    const plan = await chooseTestCommand(worktree);
    return await runTests({
      cwd: worktree,
      plan,
      env: testEnv(process.env, { KEEL_COMMIT: job.commit, KEEL_REF: job.ref, KEEL_JOB: job.job }),
      timeoutMs: job.timeoutMs ?? options.timeoutMs,
      killGraceMs: options.killGraceMs,
      output: options.output,
      signal: options.signal,
    });
  } catch (error) {
    if (error instanceof NoTestsError) return errorOutcome(startedAt, error.message);
    return errorOutcome(startedAt, `could not run the tests: ${(error as Error).message}`);
  } finally {
    await mirrors.removeWorktree(mirror, worktree).catch(() => {});
  }
}
