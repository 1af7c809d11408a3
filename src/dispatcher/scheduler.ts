// The dispatcher's state: active builds, the queue of jobs, registered
// runners and the leases they hold. Everything arrives here as a method call
// from the server; nothing here touches a socket except through RunnerPeer.

import { randomBytes } from 'node:crypto';
import type { Log } from '../common/log.js';
import type { Job, Message } from '../protocol/messages.js';
import type { AttemptRecord, BuildRecord, JobRecord, RunOutcome, RunnerSummary } from '../protocol/records.js';
import { finishAttempt, loseAttempt, newBuild, settleBuild, startAttempt, summarise } from './build.js';

/** What the scheduler needs of a runner's connection. */
export interface RunnerPeer {
  send(message: Message): boolean;
  close(cause: Error | null): void;
}

export interface SchedulerOptions {
  maxAttempts: number;
  log: Log;
  /** Output for a build's log file. */
  appendLog(commit: string, text: string): void;
  /** Called once per build when it has finished; writes the result files. */
  finished(build: BuildRecord): void;
  /** True when a commit already has a result on disk (a dispatcher restart). */
  hasResult(commit: string): boolean;
}

interface QueuedJob {
  build: BuildRecord;
  job: JobRecord;
}

interface Lease extends QueuedJob {
  id: string;
  attempt: AttemptRecord;
  runner: RunnerState;
}

interface RunnerState {
  name: string;
  slots: number;
  labels: string[];
  peer: RunnerPeer;
  leases: Map<string, Lease>;
  lastSeen: number;
}

const RECENT_BUILDS = 20;

export class Scheduler {
  private readonly builds = new Map<string, BuildRecord>();
  private readonly done = new Set<string>();
  private readonly recent: BuildRecord[] = [];
  private readonly queue: QueuedJob[] = [];
  private readonly runners = new Map<string, RunnerState>();
  private readonly leases = new Map<string, Lease>();

  constructor(private readonly options: SchedulerOptions) {}

  /** Takes a commit from an observer; false when it is already known. */
  addCommit(commit: string, repo: string, ref: string): boolean {
    if (this.builds.has(commit) || this.done.has(commit) || this.options.hasResult(commit)) return false;
    const build = newBuild(commit, repo, ref, new Date());
    this.builds.set(commit, build);
    for (const job of build.jobs) this.queue.push({ build, job });
    this.options.log(`queued ${commit} (${ref})`);
    this.schedule();
    return true;
  }

  /** Registers a runner; a runner of the same name replaces the older connection. */
  addRunner(name: string, slots: number, labels: string[], peer: RunnerPeer): void {
    const old = this.runners.get(name);
    if (old) {
      old.peer.close(new Error(`replaced by a new connection of runner ${name}`));
      this.loseRunner(old, 'replaced by a new connection of the same runner');
    }
    this.runners.set(name, { name, slots, labels, peer, leases: new Map(), lastSeen: Date.now() });
    this.options.log(`runner ${name} registered (${slots} slot${slots === 1 ? '' : 's'}${labels.length ? `, labels ${labels.join(',')}` : ''})`);
    this.schedule();
  }

  /** A runner's connection closed or went silent: requeue its jobs at the front. */
  removeRunner(name: string, peer: RunnerPeer, reason: string): void {
    const runner = this.runners.get(name);
    if (runner && runner.peer === peer) this.loseRunner(runner, reason);
  }

  private loseRunner(runner: RunnerState, reason: string): void {
    this.runners.delete(runner.name);
    this.options.log(`runner ${runner.name} lost: ${reason}`);
    const requeue: QueuedJob[] = [];
    for (const lease of runner.leases.values()) {
      this.leases.delete(lease.id);
      const giveUp = lease.job.attempts.filter((a) => a.status === 'lost').length + 1 >= this.options.maxAttempts;
      loseAttempt(lease.job, lease.attempt, `runner ${runner.name} lost: ${reason}`, giveUp, new Date());
      this.options.appendLog(lease.build.commit, `\n=== attempt ${lease.attempt.attempt} lost: runner ${runner.name} ${reason} ===\n`);
      if (giveUp) {
        this.options.log(`job ${lease.job.name} of ${lease.build.commit} gave up after ${this.options.maxAttempts} lost runners`);
        this.settle(lease.build);
      } else {
        this.options.log(`requeued ${lease.build.commit} (${lease.job.name}) at the front`);
        summarise(lease.build);
        requeue.push({ build: lease.build, job: lease.job });
      }
    }
    this.queue.unshift(...requeue);
    this.schedule();
  }

  /** Any message from a runner shows it is alive. */
  touch(name: string, peer: RunnerPeer): void {
    const runner = this.runners.get(name);
    if (runner && runner.peer === peer) runner.lastSeen = Date.now();
  }

  /** Pings every runner; returns the ones silent past the deadline, for the caller to drop. */
  heartbeat(seq: number, deadlineMs: number): Array<{ name: string; peer: RunnerPeer; silentMs: number }> {
    const now = Date.now();
    const silent = [];
    for (const runner of this.runners.values()) {
      const silentMs = now - runner.lastSeen;
      if (silentMs > deadlineMs) silent.push({ name: runner.name, peer: runner.peer, silentMs });
      else runner.peer.send({ type: 'ping', seq });
    }
    return silent;
  }

  get runnerCount(): number {
    return this.runners.size;
  }

  /** Output for the current lease goes to the log; for a stale lease it is dropped. */
  output(leaseId: string, data: string): void {
    const lease = this.leases.get(leaseId);
    if (lease) this.options.appendLog(lease.build.commit, data);
  }

  /** A runner's result; false when the lease is stale (the job went to another runner). */
  result(leaseId: string, outcome: RunOutcome): boolean {
    const lease = this.leases.get(leaseId);
    if (!lease) {
      this.options.log(`dropped a result for stale lease ${leaseId}`);
      return false;
    }
    this.leases.delete(leaseId);
    lease.runner.leases.delete(leaseId);
    finishAttempt(lease.job, lease.attempt, outcome, new Date());
    this.options.log(`${lease.build.commit} (${lease.job.name}) ${outcome.status} on ${lease.runner.name}${outcome.message ? `: ${outcome.message}` : ''}`);
    this.settle(lease.build);
    this.schedule();
    return true;
  }

  private settle(build: BuildRecord): void {
    summarise(build);
    if (!settleBuild(build, new Date())) return;
    this.builds.delete(build.commit);
    this.done.add(build.commit);
    this.recent.unshift(build);
    this.recent.length = Math.min(this.recent.length, RECENT_BUILDS);
    this.options.log(`finished ${build.commit}: ${build.status}`);
    this.options.finished(build);
  }

  /** Hands queued jobs to runners with free slots, oldest job first. */
  private schedule(): void {
    while (this.queue.length > 0) {
      const runner = this.freestRunner();
      if (!runner) return;
      this.assign(this.queue.shift()!, runner);
    }
  }

  private freestRunner(): RunnerState | undefined {
    let best: RunnerState | undefined;
    for (const runner of this.runners.values()) {
      const free = runner.slots - runner.leases.size;
      if (free > 0 && (!best || free > best.slots - best.leases.size)) best = runner;
    }
    return best;
  }

  private assign({ build, job }: QueuedJob, runner: RunnerState): void {
    const id = randomBytes(12).toString('base64url');
    const attempt = startAttempt(job, id, runner.name, new Date());
    const lease: Lease = { id, build, job, attempt, runner };
    this.leases.set(id, lease);
    runner.leases.set(id, lease);
    summarise(build);
    this.options.appendLog(build.commit, `=== attempt ${attempt.attempt} of job ${job.name} on runner ${runner.name} at ${attempt.startedAt} ===\n`);
    this.options.log(`job ${build.commit} (${job.name}) attempt ${attempt.attempt} -> ${runner.name}`);
    const message: Job = {
      type: 'job', lease: id, attempt: attempt.attempt, job: job.name,
      commit: build.commit, repo: build.repo, ref: build.ref, timeoutMs: null,
    };
    runner.peer.send(message);
  }

  /** One build (active, recent or on disk is the caller's part), or the overview. */
  find(commit: string): BuildRecord | undefined {
    return this.builds.get(commit) ?? this.recent.find((build) => build.commit === commit);
  }

  overview(): { builds: BuildRecord[]; runners: RunnerSummary[]; queued: number } {
    return {
      builds: [...this.builds.values(), ...this.recent],
      runners: [...this.runners.values()].map((r) => ({
        name: r.name, slots: r.slots, labels: r.labels,
        running: [...r.leases.values()].map((lease) => lease.build.commit),
      })),
      queued: this.queue.length,
    };
  }
}
