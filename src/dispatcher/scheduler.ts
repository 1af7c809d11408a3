// The dispatcher's state: builds, the queue of jobs, registered runners and
// the leases they hold. Every change is a JournalRecord: made durable by the
// journal and applied here by the same code live and at replay. Nothing here
// touches a socket except through RunnerPeer.

import { randomBytes } from 'node:crypto';
import type { Log } from '../common/log.js';
import type { Job, Message } from '../protocol/messages.js';
import type { AttemptRecord, BuildRecord, JobRecord, JobSpec, RunOutcome, RunnerSummary } from '../protocol/records.js';
import { cancelJob, finishAttempt, isFinished, loseAttempt, newBuild, reopenBuild, settleBuild, startAttempt, summarise } from './build.js';
import { buildKey, type BuildKey, type JournalRecord, type SchedulerSnapshot } from './records.js';

/** What the scheduler needs of a runner's connection. */
export interface RunnerPeer {
  send(message: Message): boolean;
  close(cause: Error | null): void;
}

export interface SchedulerOptions {
  /** Runner losses and infrastructure failures before a job ends as error. */
  maxAttempts: number;
  /**
   * Finished builds whose result files are not written yet, past which no
   * new job starts. Each one waits in memory, so a disk slower than the
   * runners (or a full one) holds the runners back instead of growing the
   * dispatcher; jobs start again once half of them are written.
   */
  maxUnwritten: number;
  log: Log;
  /** Makes a record durable; resolves once it is on disk. */
  persist(record: JournalRecord): Promise<void>;
  appendLog(build: BuildRecord, job: JobRecord, text: string): void;
  /** Called once per finished build; the caller writes the files and then calls written(). */
  finished(build: BuildRecord): void;
  hasResult(project: string | null, commit: string): boolean;
  readResult(project: string | null, commit: string): Promise<BuildRecord | null>;
  /** The jobs a commit declares (keel.json), or why they cannot be known. */
  jobsFor(repo: string, commit: string): Promise<{ jobs: JobSpec[]; error: string | null }>;
  /** Keeps the JUnit XML a job's tests wrote; returns its file name. */
  junit(build: BuildRecord, job: JobRecord, xml: string): string;
}

export interface NewCommit {
  commit: string;
  repo: string;
  ref: string;
  project: string | null;
  supersede: boolean;
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
/** How many commits' keel.json are looked up ahead of the one being recorded. */
const LOOKAHEAD = 128;

interface Incoming {
  input: NewCommit;
  key: BuildKey;
  lookup: Promise<{ jobs: JobSpec[]; error: string | null }> | null;
  recorded(durable: Promise<void>): void;
  failed(error: Error): void;
}

const keyOf = (build: BuildRecord): BuildKey => buildKey(build.project, build.commit);

export class Scheduler {
  private readonly builds = new Map<BuildKey, BuildRecord>();
  private readonly unwritten = new Set<BuildKey>();
  private readonly recent: BuildRecord[] = [];
  private readonly queue: QueuedJob[] = [];
  private readonly runners = new Map<string, RunnerState>();
  private readonly leases = new Map<string, Lease>();
  /** Commits whose jobs are being looked up, in arrival order. */
  private readonly arriving = new Set<BuildKey>();
  private readonly incoming: Incoming[] = [];
  private taking = false;
  private retryTimer: NodeJS.Timeout | null = null;
  /** True while new jobs wait for result files to be written (maxUnwritten). */
  private heldBack = false;
  /**
   * Lease ids: a random prefix per dispatcher run, so a restarted dispatcher
   * never hands out an id an older run used, then a counter (a random id per
   * lease cost a crypto call on every assignment).
   */
  private readonly leasePrefix = randomBytes(9).toString('base64url');
  private leaseCount = 0;

  constructor(private readonly options: SchedulerOptions) {}

  // ---- replay ------------------------------------------------------------

  /** Rebuilds the state from a snapshot and the records after it. */
  restore(snapshot: SchedulerSnapshot | null, records: JournalRecord[]): void {
    for (const build of snapshot?.builds ?? []) {
      this.builds.set(keyOf(build), build);
      if (isFinished(build.status)) this.unwritten.add(keyOf(build));
      for (const job of build.jobs) {
        const attempt = job.attempts.at(-1);
        if (job.status === 'running' && attempt?.status === 'running') {
          this.leases.set(attempt.lease, { id: attempt.lease, build, job, attempt, runner: null });
        }
      }
    }
    for (const { key, job } of snapshot?.queue ?? []) {
      const build = this.builds.get(key);
      const record = build?.jobs.find((j) => j.name === job);
      if (build && record) this.queue.push({ build, job: record });
    }
    for (const record of records) {
      try {
        this.apply(record);
      } catch (error) {
        throw new Error(`journal record ${(record as { seq?: number }).seq ?? '?'} (${record.op}) cannot be replayed: ${(error as Error).message}`, { cause: error });
      }
    }
  }

  get orphanLeases(): number {
    return [...this.leases.values()].filter((lease) => lease.runner === null).length;
  }

  pendingWrites(): BuildRecord[] {
    return [...this.unwritten].map((key) => this.builds.get(key)!);
  }

  snapshot(): SchedulerSnapshot {
    return {
      builds: [...this.builds.values()],
      queue: this.queue.map(({ build, job }) => ({ key: keyOf(build), job: job.name })),
    };
  }

  // ---- applying records (live and replay) --------------------------------

  /** Applies one record; returns the builds it finished. */
  private apply(record: JournalRecord): BuildRecord[] {
    switch (record.op) {
      case 'commit': return this.applyCommit(record);
      case 'assign': {
        const build = this.builds.get(record.key);
        const job = build?.jobs.find((j) => j.name === record.job);
        if (!build || !job) return [];
        this.unqueue(job);
        const attempt = startAttempt(job, record.lease, record.runner, new Date(record.at));
        const runner = this.runners.get(record.runner) ?? null;
        const lease: Lease = { id: record.lease, build, job, attempt, runner };
        this.leases.set(lease.id, lease);
        runner?.leases.set(lease.id, lease);
        summarise(build);
        return [];
      }
      case 'lost': {
        const lease = this.takeLease(record.lease);
        if (!lease) return [];
        if (loseAttempt(lease.job, lease.attempt, record.reason, this.options.maxAttempts, new Date(record.at))) {
          return this.settle(lease.build, new Date(record.at));
        }
        summarise(lease.build);
        this.queue.unshift({ build: lease.build, job: lease.job });
        return [];
      }
      case 'result': {
        const lease = this.takeLease(record.lease);
        if (!lease) return [];
        finishAttempt(lease.job, lease.attempt, record.outcome, this.options.maxAttempts, new Date(record.at));
        if (record.junitFile !== null) lease.job.junit = record.junitFile;
        if (lease.job.status === 'queued') this.queue.unshift({ build: lease.build, job: lease.job });
        return this.settle(lease.build, new Date(record.at));
      }
      case 'cancel': {
        const build = this.builds.get(record.key);
        if (!build || isFinished(build.status)) return [];
        for (const job of build.jobs) {
          if (isFinished(job.status)) continue;
          const lease = [...this.leases.values()].find((l) => l.job === job);
          if (lease) this.takeLease(lease.id);
          this.unqueue(job);
          cancelJob(job, 'cancelled', `cancelled by ${record.by}`, new Date(record.at));
        }
        return this.settle(build, new Date(record.at));
      }
      case 'retry': {
        const build = record.build;
        this.builds.set(keyOf(build), build);
        this.unwritten.delete(keyOf(build));
        for (const job of reopenBuild(build, record.job)) this.queue.push({ build, job });
        summarise(build);
        return [];
      }
      case 'written':
        this.unwritten.delete(record.key);
        this.builds.delete(record.key);
        return [];
    }
  }

  private applyCommit(record: Extract<JournalRecord, { op: 'commit' }>): BuildRecord[] {
    const at = new Date(record.at);
    const build = newBuild({ ...record, specs: record.jobs }, at);
    this.builds.set(keyOf(build), build);
    const finished: BuildRecord[] = [];
    if (record.error !== null) finished.push(...this.settle(build, at));
    else for (const job of build.jobs) this.queue.push({ build, job });
    if (!record.supersede) return finished;
    // A newer commit on the branch makes older builds that never started moot.
    for (const older of this.builds.values()) {
      const untouched = older !== build && older.project === build.project && older.ref === build.ref
        && older.status === 'queued' && older.jobs.every((job) => job.status === 'queued' && job.attempts.length === 0);
      if (!untouched) continue;
      for (const job of older.jobs) {
        this.unqueue(job);
        cancelJob(job, 'skipped', `superseded by ${build.commit}`, at);
      }
      finished.push(...this.settle(older, at));
    }
    return finished;
  }

  private unqueue(job: JobRecord): void {
    const index = this.queue.findIndex((queued) => queued.job === job);
    if (index !== -1) this.queue.splice(index, 1);
  }

  private takeLease(id: string): Lease | undefined {
    const lease = this.leases.get(id);
    if (!lease) return undefined;
    this.leases.delete(id);
    lease.runner?.leases.delete(id);
    return lease;
  }

  private settle(build: BuildRecord, now: Date): BuildRecord[] {
    summarise(build);
    if (!settleBuild(build, now)) return [];
    this.unwritten.add(keyOf(build));
    this.recent.unshift(build);
    this.recent.length = Math.min(this.recent.length, RECENT_BUILDS);
    return [build];
  }

  /** Applies a record now and makes it durable; resolves when it is on disk. */
  private record(record: JournalRecord): Promise<void> {
    const finished = this.apply(record);
    const durable = this.options.persist(record);
    for (const build of finished) {
      this.options.log(`finished ${keyOf(build)}: ${build.status}${build.flaky ? ' (flaky)' : ''}`);
      void durable.then(() => this.options.finished(build), () => {});
    }
    return durable;
  }

  // ---- live events -------------------------------------------------------

  /**
   * Takes a commit from an observer: looks up its jobs (keel.json), records
   * it, and resolves once durable; false when it is already known. Commits
   * are recorded in arrival order; the lookups of the next few run meanwhile.
   */
  addCommit(input: NewCommit): Promise<boolean> {
    const key = buildKey(input.project, input.commit);
    if (this.builds.has(key) || this.arriving.has(key) || this.options.hasResult(input.project, input.commit)) {
      return Promise.resolve(false);
    }
    this.arriving.add(key);
    return new Promise<Promise<void>>((recorded, failed) => {
      this.incoming.push({ input, key, lookup: null, recorded, failed });
      void this.takeIncoming();
    }).then(async (durable) => {
      // Waiting for the journal does not hold up the next commit: it shares the next fsync.
      await durable;
      return true;
    });
  }

  private async takeIncoming(): Promise<void> {
    if (this.taking) return;
    this.taking = true;
    try {
      while (this.incoming.length > 0) {
        for (const next of this.incoming.slice(0, LOOKAHEAD)) {
          next.lookup ??= this.options.jobsFor(next.input.repo, next.input.commit);
        }
        const head = this.incoming[0]!;
        let found;
        try {
          found = await head.lookup!;
        } catch (error) {
          found = { jobs: [], error: `could not read keel.json: ${(error as Error).message}` };
        }
        this.incoming.shift();
        this.arriving.delete(head.key);
        try {
          const durable = this.record({ op: 'commit', ...head.input, jobs: found.jobs, error: found.error, at: new Date().toISOString() });
          this.options.log(`queued ${head.key} (${head.input.ref}): ${found.error ?? `${found.jobs.length} job${found.jobs.length === 1 ? '' : 's'}`}`);
          this.schedule();
          head.recorded(durable);
        } catch (error) {
          head.failed(error as Error);
        }
      }
    } finally {
      this.taking = false;
    }
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
        this.options.log(`runner ${name} reclaimed ${keyOf(lease.build)} (${lease.job.name}) attempt ${lease.attempt.attempt}`);
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
    this.options.appendLog(build, job, `\n=== attempt ${attempt.attempt} lost: ${reason} ===\n`);
    void this.record({ op: 'lost', lease: lease.id, reason, at: new Date().toISOString() }).catch(() => {});
    if (job.status === 'error') this.options.log(`job ${job.name} of ${keyOf(build)} gave up after ${this.options.maxAttempts} lost or failing runners`);
    else this.options.log(`requeued ${keyOf(build)} (${job.name}) at the front`);
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

  /** Output for a current lease goes to its job's log; for a stale lease it is dropped. */
  output(leaseId: string, data: string): void {
    const lease = this.leases.get(leaseId);
    if (lease) this.options.appendLog(lease.build, lease.job, data);
  }

  /** A runner's result; resolves false when the lease is stale, true once the result is durable. */
  async result(leaseId: string, outcome: RunOutcome): Promise<boolean> {
    const lease = this.leases.get(leaseId);
    if (!lease) {
      this.options.log(`dropped a result for stale lease ${leaseId}`);
      return false;
    }
    const { build, job } = lease;
    const who = lease.runner?.name ?? lease.attempt.runner;
    this.options.log(`${keyOf(build)} (${job.name}) ${outcome.status} on ${who}${outcome.message ? `: ${outcome.message}` : ''}`);
    const junitFile = outcome.junit === null ? null : this.options.junit(build, job, outcome.junit);
    const done = this.record({ op: 'result', lease: leaseId, outcome: { ...outcome, junit: null }, junitFile, at: new Date().toISOString() });
    if (job.status === 'queued') this.options.log(`${keyOf(build)} (${job.name}): ${job.message}`);
    this.schedule();
    await done;
    return true;
  }

  /** keel cancel: stops a queued or running build; running jobs' process groups are killed. */
  async cancel(project: string | null, commit: string, by: string): Promise<string> {
    const key = buildKey(project, commit);
    const build = this.builds.get(key);
    if (!build || isFinished(build.status)) return `no queued or running build of ${key}`;
    const running = [...this.leases.values()].filter((lease) => lease.build === build && lease.runner !== null);
    const done = this.record({ op: 'cancel', key, by, at: new Date().toISOString() });
    for (const lease of running) lease.runner!.peer.send({ type: 'abort', lease: lease.id });
    this.options.log(`${by} cancelled ${key}${running.length ? `; aborting ${running.length} running job(s)` : ''}`);
    this.schedule();
    await done;
    return `cancelled ${key}`;
  }

  /** keel retry: runs a finished build (or one of its jobs) again, keeping the earlier attempts. */
  async retry(project: string | null, commit: string, jobId: string | null, by: string): Promise<string> {
    const key = buildKey(project, commit);
    const active = this.builds.get(key);
    if (active && !isFinished(active.status)) return `${key} is still ${active.status}`;
    const build = active ?? (await this.options.readResult(project, commit));
    if (!build) return `no build of ${key} is known`;
    if (build.jobs.length === 0) return `${key} has no jobs to run again (${build.message})`;
    if (jobId !== null && !build.jobs.some((job) => job.name === jobId)) {
      return `${key} has no job ${jobId}; its jobs are ${build.jobs.map((job) => job.name).join(', ')}`;
    }
    const done = this.record({ op: 'retry', build: structuredClone(build), job: jobId, by, at: new Date().toISOString() });
    this.options.log(`${by} asked to retry ${key}${jobId ? ` (${jobId})` : ''}`);
    this.schedule();
    await done;
    return `retrying ${key}${jobId ? ` (${jobId})` : ''}`;
  }

  /** The result files of a finished build are on disk: forget it. */
  written(build: BuildRecord): Promise<void> {
    const durable = this.record({ op: 'written', key: keyOf(build) });
    if (this.heldBack) this.schedule();
    return durable;
  }

  /**
   * Hands queued jobs to runners with free slots and every label the job
   * needs, oldest first; a job nobody can take yet does not hold up the rest.
   */
  private schedule(): void {
    const { maxUnwritten } = this.options;
    const hold = this.unwritten.size >= (this.heldBack ? Math.ceil(maxUnwritten / 2) : maxUnwritten);
    if (hold !== this.heldBack) {
      this.options.log(hold
        ? `${this.unwritten.size} finished builds are waiting for their result files to be written (--max-unwritten): no new job starts until half of them are`
        : `${this.unwritten.size} results left to write: new jobs start again`);
      this.heldBack = hold;
    }
    if (hold) return;
    const now = Date.now();
    let nextRetry = Infinity;
    // With every slot taken nothing can start, however long the queue: stop there.
    let free = [...this.runners.values()].filter((r) => !r.draining && r.leases.size < r.slots).length;
    for (let i = 0; i < this.queue.length && free > 0;) {
      const queued = this.queue[i]!;
      const due = queued.job.notBefore === null ? now : Date.parse(queued.job.notBefore);
      const runner = due <= now ? this.freestRunner(queued.job.spec.labels) : undefined;
      if (due > now) nextRetry = Math.min(nextRetry, due);
      if (!runner) {
        i += 1;
        continue;
      }
      this.assign(queued, runner);
      if (runner.leases.size >= runner.slots) free -= 1;
    }
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = nextRetry === Infinity ? null : setTimeout(() => this.schedule(), nextRetry - now);
  }

  private freestRunner(labels: string[]): RunnerState | undefined {
    let best: RunnerState | undefined;
    let bestFree = 0;
    for (const runner of this.runners.values()) {
      const free = runner.draining ? 0 : runner.slots - runner.leases.size;
      if (free > bestFree && labels.every((label) => runner.labels.includes(label))) {
        best = runner;
        bestFree = free;
      }
    }
    return best;
  }

  private assign({ build, job }: QueuedJob, runner: RunnerState): void {
    this.leaseCount += 1;
    const id = `${this.leasePrefix}-${this.leaseCount.toString(36)}`;
    const durable = this.record({ op: 'assign', key: keyOf(build), job: job.name, lease: id, runner: runner.name, at: new Date().toISOString() });
    const attempt = job.attempts.at(-1)!;
    this.options.appendLog(build, job, `=== attempt ${attempt.attempt} of job ${job.spec.title} on runner ${runner.name} at ${attempt.startedAt} ===\n`);
    this.options.log(`job ${keyOf(build)} (${job.name}) attempt ${attempt.attempt} -> ${runner.name}`);
    const { spec } = job;
    const message: Job = {
      type: 'job', lease: id, attempt: attempt.attempt, job: job.name, title: spec.title,
      commit: build.commit, repo: build.repo, ref: build.ref,
      timeoutMs: spec.timeoutMs, run: spec.run, env: spec.env, junit: spec.junit,
    };
    // The runner hears of the lease only once a restart would remember it.
    void durable.then(() => runner.peer.send(message), () => {});
  }

  /** Stops the retry timer (the dispatcher is shutting down). */
  stop(): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
  }

  // ---- queries -----------------------------------------------------------

  find(project: string | null, commit: string): BuildRecord | undefined {
    const key = buildKey(project, commit);
    return this.builds.get(key) ?? this.recent.find((build) => keyOf(build) === key);
  }

  /** Active builds (queued jobs nobody connected could take say so) and recent ones. */
  overview(): { builds: BuildRecord[]; runners: RunnerSummary[]; queued: number; unwritten: string[] } {
    const runners = [...this.runners.values()];
    const active = [...this.builds.values()].filter((build) => !isFinished(build.status));
    for (const { job } of this.queue) {
      const able = runners.some((runner) => job.spec.labels.every((label) => runner.labels.includes(label)));
      if (!able) job.message = `waiting for a runner with labels ${job.spec.labels.join(',')}`;
    }
    return {
      builds: [...active, ...this.recent],
      runners: runners.map((r) => ({
        name: r.name, slots: r.slots, labels: r.labels,
        running: [...r.leases.values()].map((lease) => lease.build.commit),
      })),
      queued: this.queue.length,
      unwritten: [...this.unwritten].map((key) => this.builds.get(key)!.commit),
    };
  }
}
