// Processes a job leaves running outside its process group. A test that
// starts a daemon with setsid (or double-forks) puts it beyond the group
// kill, and it would outlive the job, holding ports, files and the
// worktree. Every process of an attempt inherits KEEL_JOB_ID, unique to that
// attempt, so once the job has ended the runner finds them by it in
// /proc/<pid>/environ and kills them. Linux only: where there is no /proc,
// or a process cannot be read (another user's, gone meanwhile), it is
// skipped; the group kill still covers everything that stayed in the group.

import { randomBytes } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** The variable that marks every process of one attempt. */
export const JOB_ID_VARIABLE = 'KEEL_JOB_ID';

const PROBE_INTERVAL_MS = 25;
/** After SIGKILL, how long to wait for them to go; bounded so a process stuck in the kernel cannot hold the runner. */
const KILL_WAIT_MS = 1_000;

export interface JobProcess {
  pid: number;
  /** Its command name (/proc/<pid>/comm), for the log. */
  command: string;
}

/** A new id for one attempt of a job: its lease and attempt, and a random part, since tests on one machine may reuse lease names. */
export function newJobId(lease: string, attempt: number): string {
  return `${lease}.${attempt}.${randomBytes(6).toString('hex')}`;
}

/** Whether an environ blob (NUL-separated NAME=value entries) holds KEEL_JOB_ID=`jobId` exactly. */
export function carriesJobId(environ: Buffer, jobId: string): boolean {
  const wanted = Buffer.from(`${JOB_ID_VARIABLE}=${jobId}`);
  for (let start = 0; start < environ.length; ) {
    let end = environ.indexOf(0, start);
    if (end === -1) end = environ.length;
    if (end - start === wanted.length && wanted.equals(environ.subarray(start, end))) return true;
    start = end + 1;
  }
  return false;
}

/** Every process but this one whose environment carries `jobId`. `procRoot` is for tests. */
export async function findJobProcesses(jobId: string, procRoot = '/proc'): Promise<JobProcess[]> {
  let entries: string[];
  try {
    entries = await readdir(procRoot);
  } catch {
    return [];
  }
  const pids = entries.filter((name) => /^\d+$/.test(name)).map(Number).filter((pid) => pid !== process.pid);
  const found = await Promise.all(pids.map(async (pid): Promise<JobProcess | null> => {
    try {
      // A zombie's environ reads as empty: it is dead already, only not yet reaped.
      if (!carriesJobId(await readFile(join(procRoot, String(pid), 'environ')), jobId)) return null;
      const command = (await readFile(join(procRoot, String(pid), 'comm'), 'utf8').catch(() => '?')).trim();
      return { pid, command };
    } catch {
      return null;
    }
  }));
  return found.filter((entry): entry is JobProcess => entry !== null);
}

function signal(processes: readonly JobProcess[], name: NodeJS.Signals): void {
  for (const { pid } of processes) {
    try {
      process.kill(pid, name);
    } catch {
      // Gone already (ESRCH), or not ours to signal (EPERM): nothing more to do.
    }
  }
}

/** Polls until no process carries `jobId`, or `ms` have passed; returns those still there. */
async function waitForNone(jobId: string, ms: number): Promise<JobProcess[]> {
  const deadline = Date.now() + ms;
  for (;;) {
    const left = await findJobProcesses(jobId);
    const wait = deadline - Date.now();
    if (left.length === 0 || wait <= 0) return left;
    await sleep(Math.min(PROBE_INTERVAL_MS, wait));
  }
}

/**
 * SIGTERM every process that carries `jobId`, SIGKILL whatever still does
 * after `graceMs` (found afresh, so a pid reused meanwhile is not hit), and
 * return the processes that were found.
 */
export async function killJobProcesses(jobId: string, graceMs: number): Promise<JobProcess[]> {
  const found = await findJobProcesses(jobId);
  if (found.length === 0) return [];
  signal(found, 'SIGTERM');
  const stubborn = await waitForNone(jobId, graceMs);
  if (stubborn.length === 0) return found;
  signal(stubborn, 'SIGKILL');
  await waitForNone(jobId, KILL_WAIT_MS);
  const known = new Set(found.map(({ pid }) => pid));
  return [...found, ...stubborn.filter(({ pid }) => !known.has(pid))];
}
