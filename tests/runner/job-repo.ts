// A central repository holding one commit (a tests/run.sh script, or any
// files), a workdir for the runner, and a `job` message for that commit.
import { existsSync, readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import type { Job } from '../../src/protocol/messages.js';
import { findJobProcesses } from '../../src/runner/job-processes.js';
import { commitFiles, git, makeCentralAndClone } from '../helpers/git-repo.js';
import { killGroupOf } from '../helpers/processes.js';
import { stopAtEnd, tempDir, waitFor } from '../helpers/temp.js';

export type JobFields = Omit<Job, 'type'>;

export interface JobRepo {
  central: string;
  commit: string;
  workdir: string;
  /** A scratch folder for files the script and the test share (absolute paths only: the test env is allow-listed). */
  files: string;
  /** A job for the commit with no `run`, `env` or `junit`, as the default `tests` job has; `extra` overrides. */
  job(lease: string, extra?: Partial<JobFields>): JobFields;
  spooled(lease: string): string;
}

/** One commit whose tests/run.sh is `script` (given the scratch folder). */
export function jobRepo(t: TestContext, script: (files: string) => string): JobRepo {
  return jobRepoOf(t, (files) => ({ 'tests/run.sh': `#!/bin/sh\n${script(files)}\n` }));
}

/**
 * One commit of the files `tree` returns (path → content; `.sh` files are
 * executable), and of the symlinks `links` returns (path → target).
 */
export function jobRepoOf(
  t: TestContext,
  tree: (files: string) => Record<string, string>,
  links: (files: string) => Record<string, string> = () => ({}),
): JobRepo {
  const { central, work } = makeCentralAndClone(t);
  const files = tempDir(t, 'keel-files-');
  for (const [path, target] of Object.entries(links(files))) symlinkSync(target, join(work, path));
  const commit = commitFiles(work, tree(files), 'tests');
  git(work, 'push', '-q', 'origin', 'main');
  const workdir = tempDir(t, 'keel-runner-');
  return {
    central,
    commit,
    workdir,
    files,
    job: (lease, extra = {}) => ({
      lease, attempt: 1, job: 'tests', commit, repo: central, ref: 'refs/heads/main', timeoutMs: null,
      title: 'tests', run: null, env: {}, junit: null, artifacts: [], artifactBytes: 0, ...extra,
    }),
    spooled: (lease) => join(workdir, 'results', `${lease}.json`),
  };
}

/** Shell lines that wait until `path` exists. */
export function waitForFile(path: string): string {
  return `while [ ! -e '${path}' ]; do sleep 0.05; done`;
}

/**
 * Waits for a test script to write its pid (one line) to `file`, and makes
 * sure its process group does not outlive the test.
 */
export async function scriptPid(t: TestContext, file: string): Promise<number> {
  const pid = await waitFor(() => {
    const text = existsSync(file) ? readFileSync(file, 'utf8') : '';
    return text.endsWith('\n') ? Number(text) : 0;
  }, 'the test script to write its pid');
  stopAtEnd(t, () => killGroupOf(pid));
  return pid;
}

/**
 * SIGKILLs, when the test ends, pass or fail, every process still carrying
 * the KEEL_JOB_ID `jobId` gives then (null: none): daemons a test script
 * started are outside every group the test could kill.
 */
export function killAtEnd(t: TestContext, jobId: () => string | null): void {
  stopAtEnd(t, async () => {
    const id = jobId();
    if (id === null) return;
    for (const { pid } of await findJobProcesses(id)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone already
      }
    }
  });
}

/** The one line a test script wrote to `file` (a pid, `echo "$KEEL_JOB_ID"`), or null until it is complete. */
export function lineIn(file: string): string | null {
  const text = existsSync(file) ? readFileSync(file, 'utf8') : '';
  return text.endsWith('\n') ? text.trim() : null;
}
