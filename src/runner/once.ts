// `keel runner --once`: take one job and exit, for a throwaway container or
// a runner started on demand. On its first job the runner drains (the
// dispatcher sends it nothing more, even when the job ends and its slot is
// free), waits for the job to end and its result to be recorded however
// long that takes (through reconnects), then closes and exits 0.

import type { Log } from '../common/log.js';
import type { DispatcherLink } from './link.js';
import type { ResultSpool } from './result-spool.js';
import type { RunningJobs } from './running-jobs.js';

export interface OnceParts {
  jobs: RunningJobs;
  link: DispatcherLink;
  spool: ResultSpool;
  log: Log;
  exit(): void;
}

/** Returns what to call when a job arrives; only the first does anything. */
export function onlyOnce({ jobs, link, spool, log, exit }: OnceParts): () => void {
  let taken = false;
  return () => {
    if (taken) return;
    taken = true;
    jobs.stopAccepting();
    link.drain();
    log('--once: took a job; exiting once its result is recorded');
    void (async () => {
      while (!(await jobs.whenIdle(60_000))) log('--once: the job is still running');
      // A result is re-sent after every reconnect until the dispatcher records it.
      while (!(await spool.whenEmpty(60_000))) log(`--once: waiting for the dispatcher to record ${spool.size} result(s)`);
      await spool.settled();
      await link.stop();
      log('--once: done; exiting');
      exit();
    })();
  };
}
