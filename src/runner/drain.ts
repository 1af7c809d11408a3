// The runner's graceful shutdown, run once on the first SIGTERM/SIGINT: ask
// the dispatcher for no more jobs, let the running ones finish within the
// grace, cancel and hand back whatever is left, give the dispatcher a moment
// to record the results just sent, then close the link. Results not recorded
// by then stay in the spool and are delivered by the next start.

import type { Log } from '../common/log.js';
import type { DispatcherLink } from './link.js';
import type { ResultSpool } from './result-spool.js';
import type { RunningJobs } from './running-jobs.js';

/** How long to wait for `recorded` of the results sent during the drain. */
const RECORDED_WAIT_MS = 5_000;

/**
 * Added to --drain-grace and --kill-grace for the whole shutdown's limit:
 * reaping a killed group (up to 5 s), waiting for `recorded` (5 s), closing
 * the socket (1 s), and some slack.
 */
export const SHUTDOWN_MARGIN_MS = 15_000;

export interface DrainParts {
  jobs: RunningJobs;
  link: DispatcherLink;
  spool: ResultSpool;
  log: Log;
  graceMs: number;
}

export async function drainRunner({ jobs, link, spool, log, graceMs }: DrainParts): Promise<void> {
  jobs.stopAccepting();
  link.drain();
  const seconds = graceMs / 1000;
  if (jobs.size > 0) {
    log(`draining: no new jobs; waiting up to ${seconds} s for ${jobs.size} running job(s)`);
    if (!(await jobs.whenIdle(graceMs))) {
      log(`drain grace of ${seconds} s passed: cancelling ${jobs.size} job(s) and handing them back`);
      await jobs.handBack();
    }
  } else {
    log('draining: no running jobs');
  }
  if (spool.size > 0) {
    log(`waiting up to ${RECORDED_WAIT_MS / 1000} s for the dispatcher to record ${spool.size} result(s)`);
    if (!(await spool.whenEmpty(RECORDED_WAIT_MS))) {
      log(`${spool.size} result(s) not recorded; kept in ${spool.dir} for the next start`);
    }
  }
  await spool.settled();
  await link.stop();
  log('drained; exiting');
}
