// Keel runner: runs tests for the dispatcher, on this or any machine.
//
// Dials out to the dispatcher (`hello`, `register`), answers `ping` with
// `pong`, and for each `job` fetches the commit into a mirror under
// --workdir, checks it out into a fresh worktree, runs the tests in their own
// process group (killed on --timeout), streams `output` chunks, and sends a
// `result`, kept until the dispatcher answers `recorded`. It reconnects with
// backoff when the dispatcher goes away and never exits because of that.

import { mkdirSync } from 'node:fs';
import { formatAddress } from '../common/address.js';
import { isEntry } from '../common/entry.js';
import { exitOnConfigError } from '../common/flags.js';
import { createLog } from '../common/log.js';
import { onShutdown } from '../common/shutdown.js';
import type { Job } from '../protocol/messages.js';
import { RUNNER_USAGE, parseRunnerConfig } from './config.js';
import { runJob } from './job.js';
import { DispatcherLink } from './link.js';
import { Mirrors } from './mirror.js';

export async function main(argv: string[]): Promise<void> {
  if (argv.includes('--help')) {
    process.stdout.write(`${RUNNER_USAGE}\n`);
    return;
  }
  let config;
  try {
    config = parseRunnerConfig(argv);
  } catch (error) {
    exitOnConfigError(error);
  }
  const log = createLog(`runner ${config.name}`);
  mkdirSync(config.workdir, { recursive: true });
  const mirrors = new Mirrors(config.workdir);
  const running = new Map<string, { controller: AbortController; done: Promise<void> }>();

  const start = (job: Job) => {
    log(`job ${job.commit} (${job.job}) attempt ${job.attempt}: starting`);
    const controller = new AbortController();
    const done = runJob(job, {
      mirrors,
      timeoutMs: config.timeoutMs,
      killGraceMs: config.killGraceMs,
      signal: controller.signal,
      output: {
        write: (stream, data) => link.send({ type: 'output', lease: job.lease, stream, data }),
        onDrain: (listener) => link.onDrain(listener),
      },
    }).then((outcome) => {
      running.delete(job.lease);
      log(`job ${job.commit} (${job.job}): ${outcome.status}${outcome.message ? ` (${outcome.message})` : ''} in ${outcome.durationMs} ms`);
      link.sendResult({ type: 'result', lease: job.lease, outcome });
    });
    running.set(job.lease, { controller, done });
  };

  const link = new DispatcherLink(config, log, { onJob: start });
  log(`starting; dispatcher ${formatAddress(config.dispatcher)}, workdir ${config.workdir}, ${config.slots} slot(s)`);
  link.start();

  onShutdown(log, async () => {
    for (const job of running.values()) job.controller.abort();
    await Promise.all([...running.values()].map((job) => job.done));
    await link.stop();
  });
}

if (isEntry(import.meta.url)) {
  void main(process.argv.slice(2));
}
