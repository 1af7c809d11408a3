// Keel runner: runs tests for the dispatcher, on this or any machine.
//
// Dials out to the dispatcher (`hello`, `register` naming the leases it still
// holds), answers `ping` with `pong`, and for each `job` fetches the commit
// into a mirror under --workdir, checks it out into a fresh worktree, runs the
// tests in their own process group (killed on --timeout), streams `output`
// chunks, and sends a `result`; an `abort` kills the job's process group and
// sends no result. A `job` it cannot read (a field the codec refuses) is
// answered at once with an `error` result for that lease alone. Each result
// is first written to <workdir>/results/<lease>.json and deleted when the
// dispatcher answers `recorded`, so it survives a dispatcher outage and a
// runner restart. It reconnects with backoff when the dispatcher goes away
// and never exits because of that.
//
// With --once it takes one job, drains, and exits 0 once that job's result is
// recorded (for throwaway containers and runners started on demand).
//
// First SIGTERM/SIGINT: send `drain`, start nothing new, let running jobs
// finish for --drain-grace, then cancel the rest and hand them back (no
// result, so the dispatcher runs them elsewhere), wait briefly for `recorded`,
// close, exit 0. A second signal exits 1 at once.

import { mkdir } from 'node:fs/promises';
import { formatAddress } from '../common/address.js';
import { runAsEntry } from '../common/entry.js';
import { ConfigError } from '../common/errors.js';
import { Mirrors } from '../common/git/mirror.js';
import { WorktreePool } from '../common/git/worktree-pool.js';
import { createLog } from '../common/log.js';
import { onShutdown } from '../common/shutdown.js';
import { RUNNER_USAGE, parseRunnerConfig } from './config.js';
import { drainRunner, SHUTDOWN_MARGIN_MS } from './drain.js';
import { DispatcherLink } from './link.js';
import { onlyOnce } from './once.js';
import { ResultSpool } from './result-spool.js';
import { RunningJobs } from './running-jobs.js';

export async function main(argv: string[]): Promise<void> {
  if (argv.includes('--help')) {
    process.stdout.write(`${RUNNER_USAGE}\n`);
    return;
  }
  const config = parseRunnerConfig(argv, process.env);
  const log = createLog(`runner ${config.name}`);
  try {
    await mkdir(config.workdir, { recursive: true });
  } catch (error) {
    throw new ConfigError(`--workdir must be a folder the runner can write, got "${config.workdir}" (${(error as Error).message})`, { cause: error });
  }
  const spool = new ResultSpool(config.workdir, log);
  const spooled = await spool.load();
  if (spooled.length > 0) log(`${spooled.length} unrecorded result(s) from an earlier run to deliver: ${spool.leases().join(', ')}`);

  // The link and the jobs need each other; the link calls back only once started, after both exist.
  const link: DispatcherLink = new DispatcherLink(config, log, {
    spool,
    onJob: (job) => {
      jobs.start(job);
      once?.();
    },
    onRefusedJob: (lease, error) => {
      jobs.refuse(lease, error);
      once?.();
    },
    onAbort: (lease) => jobs.abort(lease),
    runningLeases: () => jobs.leases(),
    // Its secret will not do: like a bad flag, a reason and exit 2, once the jobs it runs are stopped.
    onRefused: (reason) => {
      log(`giving up: ${reason}`);
      void jobs.handBack().then(() => link.stop()).finally(() => process.exit(2));
    },
  });
  const mirrors = new Mirrors(config.workdir, config.git);
  const worktrees = new WorktreePool({ workdir: config.workdir, mirrors, git: config.git });
  await worktrees.removeStale();
  const jobs: RunningJobs = new RunningJobs(config, log, { mirrors, worktrees, link, artifactsDir: (lease) => spool.artifactsDir(lease) });
  if (config.security.warning) log(`warning: ${config.security.warning}`);
  const once = config.once ? onlyOnce({ jobs, link, spool, log, exit: () => process.exit(0) }) : null;
  log(`starting; dispatcher ${formatAddress(config.dispatcher)}, workdir ${config.workdir}, ${config.slots} slot(s)`);
  link.start();

  onShutdown(log, () => drainRunner({ jobs, link, spool, log, graceMs: config.drainGraceMs }), config.drainGraceMs + config.killGraceMs + SHUTDOWN_MARGIN_MS);
}

runAsEntry(import.meta.url, main);
