// A central repository holding one commit whose tests/run.sh is the given
// script, a workdir for the runner, and a `job` message for that commit.
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import type { Job } from '../../src/protocol/messages.js';
import { commitFiles, git, makeCentralAndClone } from '../helpers/git-repo.js';
import { tempDir } from '../helpers/temp.js';

export interface JobRepo {
  central: string;
  commit: string;
  workdir: string;
  /** A scratch folder for files the script and the test share (absolute paths only: the test env is allow-listed). */
  files: string;
  job(lease: string): Omit<Job, 'type'>;
  spooled(lease: string): string;
}

export function jobRepo(t: TestContext, script: (files: string) => string): JobRepo {
  const { central, work } = makeCentralAndClone(t);
  const files = tempDir(t, 'keel-files-');
  const commit = commitFiles(work, { 'tests/run.sh': `#!/bin/sh\n${script(files)}\n` }, 'tests');
  git(work, 'push', '-q', 'origin', 'main');
  const workdir = tempDir(t, 'keel-runner-');
  return {
    central,
    commit,
    workdir,
    files,
    job: (lease) => ({ lease, attempt: 1, job: 'tests', commit, repo: central, ref: 'refs/heads/main', timeoutMs: null }),
    spooled: (lease) => join(workdir, 'results', `${lease}.json`),
  };
}

/** Shell lines that wait until `path` exists. */
export function waitForFile(path: string): string {
  return `while [ ! -e '${path}' ]; do sleep 0.05; done`;
}
