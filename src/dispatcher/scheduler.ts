// The dispatcher's state: builds, the queue of jobs, registered runners and
// the leases they hold. Every change is a JournalRecord: made durable by the
// journal and applied here by the same code live and at replay. Nothing here
// touches a socket except through RunnerPeer.

import { randomBytes } from 'node:crypto';
import type { Log } from '../common/log.js';
import type { Job, Message } from '../protocol/messages.js';
import type { AttemptRecord, BuildRecord, JobRecord, RunOutcome, RunnerSummary } from '../protocol/records.js';
import { finishAttempt, isFinished, loseAttempt, newBuild, settleBuild, startAttempt, summarise } from './build.js';
import type { JournalRecord, SchedulerSnapshot } from './records.js';

/** What the scheduler needs of a runner's connection. */
export interface RunnerPeer {
  send(message: Message): boolean;
  close(cause: Error | null): void;
}

export interface SchedulerOptions {
  maxAttempts: number;
  log: Log;
  /** Makes a record durable; resolves once it is on disk. */
  persist(record: JournalRecord): Promise<void>;
  appendLog(commit: string, text: string): void;
  /** Called once per finished build; the caller writes the files and then calls written(). */
  finished(build: BuildRecord): void;
  /** True when a commit already has its result files. */
  hasResult(commit: string): boolean;
}

interface QueuedJob {
  build: BuildRecord;
  job: JobRecord;
}

interface Lease extends QueuedJob {
  id: string;
  attempt: AttemptRecord;
  /** null while nobody holds it: after a restart, until its runner reclaims it. */
  runner: RunnerState | null;
}

interface RunnerState {
  name: string;
  slots: number;
  labels: string[];
  peer: RunnerPeer;
  leases: Map<string, Lease>;
  lastSeen: number;
  draining: boolean;
}

const RECENT_BUILDS = 20;

export class Scheduler {
  private readonly builds = new Map<string, BuildRecord>();
  private readonly unwritten = new Set<string>();
  private readonly recent: BuildRecord[] = [];
  private queue: QueuedJob[] = [];
  private readonly runners = new Map<string, RunnerState>();
  private readonly leases = new Map<string, Lease>();

  constructor(private readonly options: SchedulerOptions) {}

  // ---- replay ------------------------------------------------------------

  /** Rebuilds the state from a snapshot and the records after it. */
  restore(snapshot: SchedulerSnapshot | null, records: JournalRecord[]): void {
    for (const build of snapshot?.builds ?? []) {
      this.builds.set(build.commit, build);
      if (isFinished(build.status)) this.unwritten.add(build.commit);
      for (const job of build.jobs) {
        const attempt = job.attempts.at(-1);
        if (job.status === 'running' && attempt?.status === 'running') {
          this.leases.set(attempt.lease, { id: attempt.lease, build, job, attempt, runner: null });
        }
      }
    }
    for (const { commit, job } of snapshot?.queue ?? []) {
      const build = this.builds.get(commit);
      const record = build?.jobs.find((j) => j.name === job);
      if (build && record) this.queue.push({ build, job: record });
    }
    for (const record of records) this.apply(record);
  }

  /** After replay: finished builds still to write, and leases waiting for their runner. */
  get orphanLeases(): number {
    return [...this.leases.values()].filter((lease) => lease.runner === null).length;
  }

  pendingWrites(): BuildRecord[] {
    return [...this.unwritten].map((commit) => this.builds.get(commit)!);
  }

  snapshot(): SchedulerSnapshot {
    return {
      builds: [...this.builds.values()],
      queue: this.queue.map(({ build, job }) => ({ commit: build.commit, job: job.name })),
    };
  }

  // ---- applying records (live and replay) --------------------------------

  /** Applies one record; returns the build it finished, if any. */
  private apply(record: JournalRecord): BuildRecord | null {
    switch (record.op) {
      case 'commit': {
        const build = newBuild(record.commit, record.repo, record.ref, new Date(record.at));
        this.builds.set(build.commit, build);
        for (const job of build.jobs) this.queue.push({ build, job });
        return null;
      }
      case 'assign': {
        const build = this.builds.get(record.commit);
        const job = build?.jobs.find((j) => j.name === record.job);
        if (!build || !job) return null;
        this.queue = this.queue.filter((queued) => queued.job !== job);
        const attempt = startAttempt(job, record.lease, record.runner, new Date(record.at));
        const runner = this.runners.get(record.runner) ?? null;
        const lease: Lease = { id: record.lease, build, job, attempt, runner };
        this.leases.set(lease.id, lease);
        runner?.leases.set(lease.id, lease);
        summarise(build);
        return null;
      }
      case 'lost': {
        const lease = this.takeLease(record.lease);
        if (!lease) return null;
        const lost = lease.job.attempts.filter((a) => a.status === 'lost').length + 1;
        const giveUp = lost >= this.options.maxAttempts;
        loseAttempt(lease.job, lease.attempt, record.reason, giveUp, new Date(record.at));
        if (giveUp) return this.settle(lease.build, new Date(record.at));
        summarise(lease.build);
        this.queue.unshift({ build: lease.build, job: lease.job });
        return null;
      }
      case 'result': {
        const lease = this.takeLease(record.lease);
        if (!lease) return null;
        finishAttempt(lease.job, lease.attempt, record.outcome, new Date(record.at));
        return this.settle(lease.build, new Date(record.at));
      }
      case 'written':
        this.unwritten.delete(record.commit);
        this.builds.delete(record.commit);
        return null;
    }
  }

  private takeLease(id: string): Lease | undefined {
    const lease = this.leases.get(id);
    if (!lease) return undefined;
    this.leases.delete(id);
    lease.runner?.leases.delete(id);
    return lease;
  }

  private settle(build: BuildRecord, now: Date): BuildRecord | null {
    summarise(build);
    if (!settleBuild(build, now)) return null;
    this.unwritten.add(build.commit);
    this.recent.unshift(build);
    this.recent.length = Math.min(this.recent.length, RECENT_BUILDS);
    return build;
  }

  /** Applies a record now and makes it durable; resolves when it is on disk. */
  private record(record: JournalRecord): Promise<void> {
    const finished = this.apply(record);
    const durable = this.options.persist(record);
    if (finished) {
      this.options.log(`finished ${finished.commit}: ${finished.status}`);
      void durable.then(() => this.options.finished(finished), () => {});
    }
    return durable;
  }

  // ---- live events -------------------------------------------------------

  /** Takes a commit from an observer; resolves false when it is already known, once durable. */
  async addCommit(commit: string, repo: string, ref: string): Promise<boolean> {
    if (this.builds.has(commit) || this.options.hasResult(commit)) return false;
    const done = this.record({ op: 'commit', commit, repo, ref, at: new Date().toISOString() });
    this.options.log(`queued ${commit} (${ref})`);
    this.schedule();
    await done;
    return true;
  }

  /**
   * Registers a runner. Leases it says it still holds (from before a
   * reconnect or a dispatcher restart) are bound to it again; leases of an
   * older connection of the same name that it does not hold are lost.
   */
  addRunner(name: string, slots: number, labels: string[], held: string[], peer: RunnerPeer): void {
    const old = this.runners.get(name);
    const runner: RunnerState = { name, slots, labels, peer, leases: new Map(), lastSeen: Date.now(), draining: false };
    if (old) {
      this.runners.delete(name);
      old.peer.close(new Error(`replaced by a new connection of runner ${name}`));
    }
    this.runners.set(name, runner);
    this.options.log(`runner ${name} registered (${slots} slot${slots === 1 ? '' : 's'}${labels.length ? `, labels ${labels.join(',')}` : ''})`);
    const holds = new Set(held);
    for (const lease of [...this.leases.values()]) {
      const ours = lease.attempt.runner === name && (lease.runner === null || lease.runner === old);
      if (!ours) continue;
      if (holds.has(lease.id)) {
        lease.runner = runner;
        runner.leases.set(lease.id, lease);
        this.options.log(`runner ${name} reclaimed ${lease.build.commit} (${lease.job.name}) attempt ${lease.attempt.attempt}`);
      } else {
        this.lose(lease, `runner ${name} came back without it`);
      }
    }
    this.schedule();
  }

  /** A runner's connection closed or went silent: requeue its jobs at the front. */
  removeRunner(name: string, peer: RunnerPeer, reason: string): void {
    const runner = this.runners.get(name);
    if (!runner || runner.peer !== peer) return;
    this.runners.delete(name);
    this.options.log(`runner ${name} lost: ${reason}`);
    for (const lease of [...runner.leases.values()]) this.lose(lease, `runner ${name} lost: ${reason}`);
    this.schedule();
  }

  /** Leases nobody reclaimed after a restart go back to the queue. */
  expireOrphans(reason: string): void {
    for (const lease of [...this.leases.values()]) {
      if (lease.runner === null) this.lose(lease, reason);
    }
    this.schedule();
  }

  private lose(lease: Lease, reason: string): void {
    const { build, job, attempt } = lease;
    this.options.appendLog(build.commit, `\n=== attempt ${attempt.attempt} lost: ${reason} ===\n`);
    void this.record({ op: 'lost', lease: lease.id, reason, at: new Date().toISOString() }).catch(() => {});
    if (job.status === 'error') this.options.log(`job ${job.name} of ${build.commit} gave up after ${this.options.maxAttempts} lost runners`);
    else this.options.log(`requeued ${build.commit} (${job.name}) at the front`);
  }

  /** A draining runner finishes what it has and gets nothing new. */
  drain(name: string, peer: RunnerPeer): void {
    const runner = this.runners.get(name);
    if (!runner || runner.peer !== peer) return;
    runner.draining = true;
    this.options.log(`runner ${name} draining`);
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

  /** Output for a current lease goes to the log; for a stale lease it is dropped. */
  output(leaseId: string, data: string): void {
    const lease = this.leases.get(leaseId);
    if (lease) this.options.appendLog(lease.build.commit, data);
  }

  /** A runner's result; resolves false when the lease is stale, true once the result is durable. */
  async result(leaseId: string, outcome: RunOutcome): Promise<boolean> {
    const lease = this.leases.get(leaseId);
    if (!lease) {
      this.options.log(`dropped a result for stale lease ${leaseId}`);
      return false;
    }
    const who = lease.runner?.name ?? lease.attempt.runner;
    this.options.log(`${lease.build.commit} (${lease.job.name}) ${outcome.status} on ${who}${outcome.message ? `: ${outcome.message}` : ''}`);
    const done = this.record({ op: 'result', lease: leaseId, outcome, at: new Date().toISOString() });
    this.schedule();
    await done;
    return true;
  }

  /** The result files of a finished build are on disk: forget it. */
  written(commit: string): Promise<void> {
    return this.record({ op: 'written', commit });
  }

  /** Hands queued jobs to runners with free slots, oldest job first. */
  private schedule(): void {
    while (this.queue.length > 0) {
      const runner = this.freestRunner();
      if (!runner) return;
      this.assign(this.queue[0]!, runner);
    }
  }

  private freestRunner(): RunnerState | undefined {
    let best: RunnerState | undefined;
    for (const runner of this.runners.values()) {
      const free = runner.draining ? 0 : runner.slots - runner.leases.size;
      if (free > 0 && (!best || free > best.slots - best.leases.size)) best = runner;
    }
    return best;
  }

  private assign({ build, job }: QueuedJob, runner: RunnerState): void {
    const id = randomBytes(12).toString('base64url');
    const durable = this.record({ op: 'assign', commit: build.commit, job: job.name, lease: id, runner: runner.name, at: new Date().toISOString() });
    const attempt = job.attempts.at(-1)!;
    this.options.appendLog(build.commit, `=== attempt ${attempt.attempt} of job ${job.name} on runner ${runner.name} at ${attempt.startedAt} ===\n`);
    this.options.log(`job ${build.commit} (${job.name}) attempt ${attempt.attempt} -> ${runner.name}`);
    const message: Job = {
      type: 'job', lease: id, attempt: attempt.attempt, job: job.name,
      commit: build.commit, repo: build.repo, ref: build.ref, timeoutMs: null,
    };
    // The runner hears of the lease only once a restart would remember it.
    void durable.then(() => runner.peer.send(message), () => {});
  }

  // ---- queries -----------------------------------------------------------

  find(commit: string): BuildRecord | undefined {
    return this.builds.get(commit) ?? this.recent.find((build) => build.commit === commit);
  }

  overview(): { builds: BuildRecord[]; runners: RunnerSummary[]; queued: number; unwritten: string[] } {
    const active = [...this.builds.values()].filter((build) => !isFinished(build.status));
    return {
      builds: [...active, ...this.recent],
      runners: [...this.runners.values()].map((r) => ({
        name: r.name, slots: r.slots, labels: r.labels,
        running: [...r.leases.values()].map((lease) => lease.build.commit),
      })),
      queued: this.queue.length,
      unwritten: [...this.unwritten],
    };
  }
}
