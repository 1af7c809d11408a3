// The jobs this runner is running, keyed by lease: starts each `job` the
// dispatcher sends, reports its output and result through the link, and,
// when the runner drains, refuses new jobs and can cancel the running ones
// and hand them back, which means sending no result for them at all. A job
// the dispatcher aborts (cancelled by someone) is stopped the same way, and
// likewise sends no result: the dispatcher expects none.

import { setTimeout as sleep } from 'node:timers/promises';
import type { Mirrors } from '../common/git/mirror.js';
import type { WorktreePool } from '../common/git/worktree-pool.js';
import type { Log } from '../common/log.js';
import type { ProtocolError } from '../protocol/errors.js';
import type { Job, Result, Stream } from '../protocol/messages.js';
import type { RunnerConfig } from './config.js';
import { runJob } from './job.js';
import { refusedJobOutcome } from './refused-job.js';

/** What the jobs need of the dispatcher link. */
export interface JobLink {
  sendOutput(lease: string, stream: Stream, data: string): boolean;
  onDrain(listener: () => void): void;
  sendResult(result: Result): Promise<void>;
  forgetOutput(lease: string): void;
}

interface Running {
  controller: AbortController;
  /** Who stopped it, once someone has. */
  stoppedBy: 'drain' | 'dispatcher' | null;
  /** Settles once the job has ended and its result (if any) is spooled. */
  done: Promise<void>;
}

export class RunningJobs {
  private readonly running = new Map<string, Running>();
  private accepting = true;

  constructor(
    private readonly config: RunnerConfig,
    private readonly log: Log,
    private readonly parts: { mirrors: Mirrors; worktrees: WorktreePool; link: JobLink; artifactsDir(lease: string): string },
  ) {}

  get size(): number {
    return this.running.size;
  }

  leases(): string[] {
    return [...this.running.keys()];
  }

  start(job: Job): void {
    const what = `job ${job.commit} (${job.job})`;
    if (!this.accepting) {
      // The dispatcher requeues it when this runner's connection closes.
      this.log(`${what} lease ${job.lease}: not started, draining`);
      return;
    }
    if (this.running.has(job.lease)) {
      this.log(`${what} lease ${job.lease}: already running`);
      return;
    }
    this.log(`${what} attempt ${job.attempt}: starting`);
    const { link, mirrors, worktrees } = this.parts;
    const controller = new AbortController();
    const entry: Running = { controller, stoppedBy: null, done: Promise.resolve() };
    entry.done = runJob(job, {
      mirrors,
      worktrees,
      baseEnv: this.config.testEnv,
      timeoutMs: this.config.timeoutMs,
      killGraceMs: this.config.killGraceMs,
      signal: controller.signal,
      artifactsDir: this.parts.artifactsDir(job.lease),
      log: (message) => this.log(`${what}: ${message}`),
      output: {
        write: (stream, data) => link.sendOutput(job.lease, stream, data),
        onDrain: (listener) => link.onDrain(listener),
      },
    }).then(async (outcome) => {
      const { cancelled } = outcome;
      if (entry.stoppedBy === 'dispatcher') {
        // Whatever the outcome, the dispatcher has stopped waiting for it.
        link.forgetOutput(job.lease);
        this.log(`${what} lease ${job.lease}: cancelled by the dispatcher`);
      } else if (entry.stoppedBy === 'drain' && cancelled) {
        // A run that ended some other way before the drain's cancel took hold still reports.
        link.forgetOutput(job.lease);
        this.log(`${what}: cancelled by the drain, handed back to the dispatcher`);
      } else {
        await link.sendResult({ type: 'result', lease: job.lease, outcome });
        // Logged once spooled, so whoever reads this line knows the result survives a crash from here on.
        this.log(`${what}: ${outcome.status}${outcome.message ? ` (${outcome.message})` : ''} in ${outcome.durationMs} ms`);
      }
      // Deleted only now, so the lease is always in `register` (running or spooled) until recorded.
      this.running.delete(job.lease);
    }).catch((error: Error) => {
      // Not reachable with a lease the codec let through; a crash here would lose every other job.
      this.running.delete(job.lease);
      this.log(`${what}: cannot report the result: ${error.message}`);
    });
    this.running.set(job.lease, entry);
  }

  /**
   * A `job` the codec refused: no runner could take it, so it is answered at
   * once with an error result, spooled like any other. A lease that is
   * already running keeps its run and gets no second answer.
   */
  refuse(lease: string, error: ProtocolError): void {
    if (this.running.has(lease)) {
      this.log(`lease ${lease}: a second job the runner could not read (${error.message}); the running one goes on`);
      return;
    }
    const outcome = refusedJobOutcome(error);
    this.parts.link.sendResult({ type: 'result', lease, outcome }).then(
      () => this.log(`lease ${lease}: ${outcome.status} (${outcome.message})`),
      (failure: Error) => this.log(`lease ${lease}: cannot report that the job could not be taken: ${failure.message}`),
    );
  }

  /** Stops the job holding `lease` (its process group is killed) and sends no result for it. */
  abort(lease: string): void {
    const job = this.running.get(lease);
    // Already finished (its result is spooled or recorded) or never ours: nothing to stop.
    if (job === undefined || job.stoppedBy === 'dispatcher') return;
    job.stoppedBy = 'dispatcher';
    job.controller.abort();
  }

  /** From now on every `job` is ignored. */
  stopAccepting(): void {
    this.accepting = false;
  }

  /** Resolves true once no job is running, or false after `ms`. */
  async whenIdle(ms: number): Promise<boolean> {
    const idle = Promise.all([...this.running.values()].map((job) => job.done)).then(() => true as const);
    // Aborted once the race is decided, so the timer does not hold the process; race has already handled its rejection.
    const timer = new AbortController();
    try {
      return await Promise.race([idle, sleep(ms, false as const, { signal: timer.signal })]);
    } finally {
      timer.abort();
    }
  }

  /** Cancels every running job (their process groups are killed) and waits until they have ended. */
  async handBack(): Promise<void> {
    const jobs = [...this.running.values()];
    for (const job of jobs) {
      job.stoppedBy ??= 'drain';
      job.controller.abort();
    }
    await Promise.all(jobs.map((job) => job.done));
  }
}
