// One job from start to finish: make sure the mirror has the commit, check it
// out into a clean worktree, run the job's command there (its own `run`, or
// what test-command.ts finds in tests/), read its JUnit report if it has one,
// kill whatever it left running outside its process group (found by its
// KEEL_JOB_ID), copy its artifacts to the spool, and give the worktree back
// for the next job. Every way this
// can go wrong ends as a RunOutcome, never as a throw; `infra` marks the ways
// that were the runner's fault.

import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Mirrors } from '../common/git/mirror.js';
import type { WorktreePool } from '../common/git/worktree-pool.js';
import type { Job } from '../protocol/messages.js';
import type { RunOutcome } from '../protocol/records.js';
import { JOB_ID_VARIABLE, killJobProcesses, newJobId } from './job-processes.js';
import { collectArtifacts } from './artifact-collect.js';
import { GeneratorOutput } from './generator-output.js';
import { attachJunit } from './junit-file.js';
import { Masker } from './masking.js';
import { boundOutcome, errorOutcome } from './outcome.js';
import { runTests, type OutputSink } from './run-tests.js';
import { chooseTestCommand, NoTestsError, type TestPlan } from './test-command.js';
import { jobEnv, testEnv } from './test-env.js';

export interface JobOptions {
  mirrors: Mirrors;
  worktrees: WorktreePool;
  /** What the test inherits of the runner's environment (RunnerConfig.testEnv). */
  baseEnv: Readonly<Record<string, string>>;
  timeoutMs: number;
  killGraceMs: number;
  output: OutputSink;
  signal: AbortSignal;
  /** For what the runner decided about this job (ignored env names, an unreadable report). */
  log: (message: string) => void;
  /** Where this attempt's artifacts are copied to wait with its result (the spool). */
  artifactsDir: string;
}

export async function runJob(job: Job, options: JobOptions): Promise<RunOutcome> {
  // Secrets are masked before any output or outcome leaves the runner; a generator's stdout is kept too.
  const masker = new Masker(job.secrets ?? {});
  const masked = masker.wrap(options.output);
  const generator = job.generate ? new GeneratorOutput() : null;
  const output = generator ? generator.wrap(masked) : masked;
  let outcome: RunOutcome;
  try {
    outcome = await runJobUnbounded(job, { ...options, output });
  } finally {
    masked.flush();
  }
  if (generator) outcome = generator.attach(outcome);
  return boundOutcome(masker.maskOutcome(outcome));
}

async function runJobUnbounded(job: Job, options: JobOptions): Promise<RunOutcome> {
  const startedAt = new Date();
  const { mirrors, worktrees } = options;
  let mirror: string;
  try {
    mirror = await mirrors.ensureCommit(job.repo, job.commit);
  } catch (error) {
    return errorOutcome(startedAt, `fetch failed: ${(error as Error).message}`, true);
  }
  let worktree: string;
  try {
    worktree = await worktrees.checkout(mirror, job.commit);
  } catch (error) {
    return errorOutcome(startedAt, `checkout failed: ${(error as Error).message}`, true);
  }
  const jobId = newJobId(job.lease, job.attempt);
  let outcome: RunOutcome;
  try {
    outcome = await runIn(worktree, job, jobId, options);
  } catch (error) {
    outcome = error instanceof NoTestsError
      ? errorOutcome(startedAt, error.message, false)
      : errorOutcome(startedAt, `could not run the tests: ${(error as Error).message}`, true);
  }
  try {
    // Before the worktree goes to the next job: a daemon could still be writing in it.
    await killLeftovers(jobId, options);
    // Also of a failed run (a coverage report, a log); not of a cancelled one, whose result nobody waits for.
    if (job.artifacts.length > 0 && !options.signal.aborted) outcome = await withArtifacts(outcome, worktree, job, options);
  } finally {
    worktrees.release(mirror, worktree);
  }
  return outcome;
}

/** The outcome with the artifacts copied to the spool, and notes on what was left out. */
async function withArtifacts(outcome: RunOutcome, worktree: string, job: Job, options: JobOptions): Promise<RunOutcome> {
  let collected;
  try {
    collected = await collectArtifacts(worktree, job.artifacts, options.artifactsDir, job.artifactBytes);
  } catch (error) {
    // A full spool disk, say: the result still goes, without them.
    collected = { files: [], notes: [`could not be gathered: ${(error as Error).message}`] };
  }
  for (const note of collected.notes) options.log(`artifacts: ${note}`);
  return { ...outcome, artifacts: collected.files, artifactNotes: collected.notes };
}

/** Runs the job's plan in its worktree, with its JUnit report when it has one. */
async function runIn(worktree: string, job: Job, jobId: string, options: JobOptions): Promise<RunOutcome> {
  const plan = await choosePlan(job, worktree);
  if (plan.junit !== undefined) {
    // The repository could have committed a symlink there; the reporter must not write through it.
    await rm(join(worktree, plan.junit), { recursive: true, force: true });
  }
  const outcome = await runTests({
    cwd: worktree,
    plan,
    env: environment(job, jobId, options),
    timeoutMs: job.timeoutMs ?? options.timeoutMs,
    killGraceMs: options.killGraceMs,
    output: options.output,
    signal: options.signal,
  });
  const junit = job.junit ?? plan.junit ?? null;
  if (junit === null || options.signal.aborted) return outcome;
  return await attachJunit(outcome, worktree, junit, options.log);
}

/** Kills the processes of this attempt that outlived it, and says which in the log and in the job's output. */
async function killLeftovers(jobId: string, options: JobOptions): Promise<void> {
  const killed = await killJobProcesses(jobId, options.killGraceMs);
  if (killed.length === 0) return;
  const list = killed.map(({ pid, command }) => `${pid} (${command})`).join(', ');
  options.log(`killed ${list}: left running by the job`);
  if (!options.signal.aborted) options.output.write('stderr', `\n[keel: killed ${list}: left running by the job]\n`);
}

/** The job's own argv when it has one, else the tests/ the repository holds. */
async function choosePlan(job: Job, worktree: string): Promise<TestPlan> {
  // An empty argv becomes an empty plan, which runTests reports as such.
  if (job.run !== null) return { steps: job.run.length > 0 ? [job.run] : [], description: job.run.join(' ') };
  return chooseTestCommand(worktree);
}

function environment(job: Job, jobId: string, options: JobOptions): NodeJS.ProcessEnv {
  const { kept, ignored } = jobEnv(job.env);
  if (ignored.length > 0) options.log(`ignoring env ${ignored.join(', ')}: the runner sets these itself`);
  const secrets = jobEnv(job.secrets ?? {}).kept;
  return testEnv(options.baseEnv, {
    ...kept, ...secrets, KEEL_COMMIT: job.commit, KEEL_REF: job.ref, KEEL_JOB: job.job, [JOB_ID_VARIABLE]: jobId,
    KEEL_BUILD_ID: job.build ?? '', KEEL_SUBJECT: job.subject ?? 'push', KEEL_BASE: job.base ?? '',
  });
}
