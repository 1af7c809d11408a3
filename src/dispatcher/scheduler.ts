// The shell around the dispatcher's decisions: records go through the
// reducer and the journal, placement decides who runs what, and the runner
// registry knows which connection holds which lease. Every effect waits for
// the record it depends on to be durable: a runner hears of a lease, and a
// build's result files are written, only once a restart would remember them.

import { randomUUID } from 'node:crypto';
import type { Log } from '../common/log.js';
import type { Artifact } from '../protocol/messages.js';
import type { ArtifactsKept, BuildRecord, JobRecord, RunOutcome } from '../protocol/records.js';
import type { ArtifactStore } from './artifact-store.js';
import type { Generated } from './generated-jobs.js';
import { jobMessage } from './job-message.js';
import { verdict } from './verdict.js';
import { place, type RunnerView, type WaitContext } from './placement.js';
import type { RunnerHealth } from './runner-health.js';
import { keyOf, type JournalRecord } from './records.js';
import { reduce, type Rules } from './reducer.js';
import type { RunnerPeer, RunnerRegistry } from './runner-registry.js';
import type { Lease, State } from './state.js';

export interface SchedulerParts {
  state: State;
  rules: Rules;
  runners: RunnerRegistry;
  /** Finished builds waiting for their result files past which no new job starts; again at half. */
  maxUnwritten: number;
  /** Which runners back off after infrastructure failures in a row. */
  health: RunnerHealth;
  log: Log;
  /** Makes a record durable; resolves once it is on disk. */
  persist(record: JournalRecord): Promise<void>;
  appendLog(build: BuildRecord, job: JobRecord, text: string): void;
  /** Keeps the JUnit XML a job's tests wrote; returns its file name. */
  keepJunit(build: BuildRecord, job: JobRecord, xml: string): string;
  /** Where the artifacts runners send go (artifact-store.ts). */
  artifacts: ArtifactStore;
  /** A finished build is durable: write its files. */
  finished(build: BuildRecord): void;
  /** The outbox items `from` to `to - 1` a record made are durable (outbox-pump.ts). */
  outboxAdded(from: number, to: number): void;
  /** What a generator's output makes: its jobs, read and decided, or why there are none. */
  generated?(build: BuildRecord, outcome: RunOutcome): Promise<Generated>;
  /** The values of the secrets an attempt of the job is sent (never recorded). */
  secretsOf?(job: JobRecord): Record<string, string>;
}

export type Verdict = 'accepted' | 'stale' | 'not-yours';

export class Scheduler {
  readonly state: State;
  private retryTimer: NodeJS.Timeout | null = null;
  private heldBack = false;

  constructor(private readonly parts: SchedulerParts) {
    this.state = parts.state;
  }

  /** Applies a record now and makes it durable; resolves when it is on disk. */
  record(record: JournalRecord): Promise<void> {
    const from = this.state.outbox.next;
    const finished = reduce(this.state, record, this.parts.rules);
    const durable = this.parts.persist(record);
    const to = this.state.outbox.next;
    if (to > from) void durable.then(() => this.parts.outboxAdded(from, to), () => {});
    for (const build of finished) {
      this.parts.log(`finished ${keyOf(build)}: ${verdict(build)}`);
      void durable.then(() => this.parts.finished(build), () => {});
    }
    return durable;
  }

  /** The lease `id` and the connection of `peer` that holds it, or why it may not be used. */
  leaseFor(peer: RunnerPeer, id: string): { lease: Lease; verdict: 'accepted' } | { verdict: 'stale' | 'not-yours' } {
    const lease = this.state.leases.get(id);
    const holder = this.parts.runners.holder(id);
    const own = this.parts.runners.of(peer);
    if (lease && holder && holder === own) return { lease, verdict: 'accepted' };
    // An orphan after a restart, or one held by another connection, is someone else's until reclaimed.
    if (lease) return { verdict: 'not-yours' };
    return { verdict: 'stale' };
  }

  output(peer: RunnerPeer, id: string, data: string): Verdict {
    const found = this.leaseFor(peer, id);
    if (found.verdict === 'accepted') this.parts.appendLog(found.lease.build, found.lease.job, data);
    return found.verdict;
  }

  /** A piece of an artifact file of the attempt holding the lease; 'refused' with why when it does not fit. */
  artifact(peer: RunnerPeer, message: Artifact): { verdict: Verdict | 'refused'; why?: string } {
    const found = this.leaseFor(peer, message.lease);
    if (found.verdict !== 'accepted') return { verdict: found.verdict };
    const bytes = Buffer.from(message.data, 'base64');
    const received = this.parts.artifacts.receive(found.lease.build, found.lease.job, message.lease, { path: message.path, size: message.size, offset: message.offset, bytes });
    return received.ok ? { verdict: 'accepted' } : { verdict: 'refused', why: received.why };
  }

  /** A runner's result; `durable` resolves once it is recorded. */
  result(peer: RunnerPeer, id: string, outcome: RunOutcome): { verdict: Verdict; durable: Promise<void> } {
    const found = this.leaseFor(peer, id);
    if (found.verdict === 'stale') this.parts.log(`dropped a result for stale lease ${id}`);
    if (found.verdict !== 'accepted') return { verdict: found.verdict, durable: Promise.resolve() };
    const { build, job, attempt } = found.lease;
    this.parts.log(`${keyOf(build)} (${job.name}) ${outcome.status} on ${attempt.runner}${outcome.message ? `: ${outcome.message}` : ''}`);
    const junitFile = outcome.junit === null ? null : this.parts.keepJunit(build, job, outcome.junit);
    let artifacts: ArtifactsKept | null = null;
    try {
      artifacts = this.parts.artifacts.keep(build, job, id, outcome);
    } catch (error) {
      artifacts = { dir: null, files: [], notes: [`could not be kept: ${(error as Error).message}`] };
    }
    const { artifacts: _sent, artifactNotes: _noted, generated: _output, ...journaled } = outcome;
    this.parts.runners.unbind(id);
    if (!outcome.cancelled) this.attemptEnded(attempt.runner, outcome.infra, outcome.message);
    // A generator's output is journaled as the jobs it makes, not as text.
    const record = (generated?: Generated) => this.record({
      op: 'result', lease: id, outcome: { ...journaled, junit: null }, junitFile, ...(artifacts ? { artifacts } : {}), at: new Date().toISOString(),
      ...(generated ? { generated } : {}),
    });
    if (job.spec.generator && outcome.status === 'passed' && this.parts.generated) {
      // The printed jobs are read (and their `when` decided) before the result is recorded with them.
      const reading = this.parts.generated(build, outcome)
        .catch((error: Error): Generated => ({ jobs: [], error: `could not read the generator's output: ${error.message}` }));
      const durable = reading.then((generated) => {
        const recorded = record(generated);
        this.parts.log(`${keyOf(build)}: ${generated.error ?? `the generator made ${generated.jobs.length} job(s)`}`);
        this.schedule();
        return recorded;
      });
      return { verdict: 'accepted', durable };
    }
    const durable = record();
    if (job.status === 'queued') this.parts.log(`${keyOf(build)} (${job.name}): ${job.message}`);
    this.schedule();
    return { verdict: 'accepted', durable };
  }

  /**
   * The lease goes back to the queue (or the job gives up): its runner died
   * or came back without it. `blame`: it counts against the runner's health
   * (not so for a job nobody reclaimed after a dispatcher restart).
   */
  lose(id: string, reason: string, blame = true): void {
    const lease = this.state.leases.get(id);
    if (!lease) return;
    this.parts.runners.unbind(id);
    if (blame) this.attemptEnded(lease.attempt.runner, true, reason);
    this.parts.artifacts.discard(lease.build, lease.job);
    this.parts.appendLog(lease.build, lease.job, `\n=== attempt ${lease.attempt.attempt} lost: ${reason} ===\n`);
    void this.record({ op: 'lost', lease: id, reason, at: new Date().toISOString() }).catch(() => {});
    if (lease.job.status === 'error') this.parts.log(`job ${lease.job.name} of ${keyOf(lease.build)} gave up after ${this.parts.rules.maxAttempts} lost or failing runners`);
    else this.parts.log(`requeued ${keyOf(lease.build)} (${lease.job.name}) at the front`);
  }

  /**
   * Hands queued jobs to runners with free slots, unless too many finished
   * builds wait for their files (a slow or full disk holds runners back
   * rather than growing the dispatcher).
   */
  schedule(): void {
    const { maxUnwritten } = this.parts;
    const waiting = this.state.unwritten.size;
    const hold = waiting >= (this.heldBack ? Math.ceil(maxUnwritten / 2) : maxUnwritten);
    if (hold !== this.heldBack) {
      this.parts.log(hold
        ? `${waiting} finished builds are waiting for their result files to be written (--max-unwritten): no new job starts until half of them are`
        : `${waiting} results left to write: new jobs start again`);
      this.heldBack = hold;
    }
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    if (hold) return;
    const now = Date.now();
    const { assignments, nextDueAt } = place(this.state.queue, this.runnerViews(now), now);
    for (const { queued, runner } of assignments) this.assign(queued.build, queued.job, runner);
    // Again when a retry delay or a runner's back-off ends, whichever comes first.
    const wake = [nextDueAt, this.parts.health.nextRecovery(now)].filter((at): at is number => at !== null);
    if (wake.length > 0) this.retryTimer = setTimeout(() => this.schedule(), Math.min(...wake) - now);
  }

  get isHeldBack(): boolean {
    return this.heldBack;
  }

  /** The connected runners as placement sees them: paused by an admin, backing off after failures. */
  runnerViews(now: number): RunnerView[] {
    return this.parts.runners.views(this.state.paused, (name) => this.parts.health.unhealthy(name, now));
  }

  /** What holds every queued job back, for its wait reason. */
  get waitContext(): WaitContext {
    return { unwritten: this.heldBack ? this.state.unwritten.size : null };
  }

  /** Why a runner takes no jobs beyond draining: its back-off, for status; null when none. */
  runnerHealth(runner: string, now: number): string | null {
    return this.parts.health.describe(runner, now);
  }

  private attemptEnded(runner: string, infra: boolean, message: string): void {
    const unhealthy = this.parts.health.ended(runner, { infra, message }, Date.now());
    if (unhealthy) {
      this.parts.log(`runner ${runner} is unhealthy after infrastructure failures in a row (last: ${message}): no jobs for it until ${new Date(unhealthy.until!).toISOString()}`);
    }
  }

  private assign(build: BuildRecord, job: JobRecord, runnerName: string): void {
    const runner = this.parts.runners.named(runnerName)!;
    // 122 random bits: a runner that sees its own lease cannot guess another's.
    const id = randomUUID();
    this.parts.runners.bind(id, runner);
    const durable = this.record({ op: 'assign', key: keyOf(build), job: job.name, lease: id, runner: runnerName, at: new Date().toISOString() });
    const attempt = job.attempts.at(-1)!;
    this.parts.appendLog(build, job, `=== attempt ${attempt.attempt} of job ${job.spec.title} on runner ${runnerName} at ${attempt.startedAt} ===\n`);
    this.parts.log(`job ${keyOf(build)} (${job.name}) attempt ${attempt.attempt} -> ${runnerName}`);
    const message = jobMessage(build, job, id, attempt.attempt, this.parts.artifacts.maxBytes, this.parts.secretsOf?.(job));
    void durable.then(() => {
      // The lease may have been lost meanwhile (the runner went away).
      if (this.parts.runners.holder(id) === runner) runner.peer.send(message);
    }, () => {});
  }

  /** Stops the retry timer (the dispatcher is shutting down). */
  stop(): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
  }
}
