// Killing a test's whole process group. Tests are spawned detached, so each
// step leads its own group (pgid = its pid) and a signal sent to -pid reaches
// every process it started, including background children that outlived it.
// Polite first (SIGTERM, so tests can clean up), then SIGKILL after a grace
// period, as execa's `forceKillAfterDelay` does.

import { setTimeout as sleep } from 'node:timers/promises';

const PROBE_INTERVAL_MS = 25;

/**
 * How long to wait, after SIGKILL, for the group to vanish. A killed process
 * stays a group member as a zombie until reaped, and orphans are reaped by
 * init on its own schedule (about once a second in some containers); the
 * bound keeps a broken init from hanging the runner.
 */
const REAP_WAIT_MS = 5_000;

/** Sends `signal` to every process in group `pid`; false when the group no longer exists. */
export function killGroup(pid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-pid, signal);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw error;
  }
}

/** True while any process (zombies included) is left in group `pid`. */
function groupExists(pid: number): boolean {
  return killGroup(pid, 0);
}

/** Resolves true as soon as the group is gone, false if it is still there after `ms`. */
async function waitForGroupGone(pid: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (groupExists(pid)) {
    const left = deadline - Date.now();
    if (left <= 0) return false;
    await sleep(Math.min(PROBE_INTERVAL_MS, left));
  }
  return true;
}

/**
 * SIGTERM the group, SIGKILL it if anything is left after `graceMs`, and
 * resolve once it is gone (or REAP_WAIT_MS after the SIGKILL).
 */
export async function terminateGroup(pid: number, graceMs: number): Promise<void> {
  if (!killGroup(pid, 'SIGTERM')) return;
  if (await waitForGroupGone(pid, graceMs)) return;
  if (!killGroup(pid, 'SIGKILL')) return;
  await waitForGroupGone(pid, REAP_WAIT_MS);
}
