// Runners on demand, the shell around planScaling: every tick it looks at
// the queue and the connected runners, runs the operator's start command
// (`sh -c --runner-start`, with KEEL_RUNNER_NAME, KEEL_LABELS and
// KEEL_DISPATCHER in its environment) for runners it wants, notices them
// register under the name it gave, drains the idle ones and runs the stop
// command for them (with KEEL_RUNNER_NAME). A start whose command fails or
// whose runner never registers is logged and counted, and starting backs
// off. Not journaled: the names it gives are its own (keel-auto-…), so a
// restarted dispatcher knows the runners an earlier run started when they
// register again, and still stops them once idle.

import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { backoffDelay } from '../common/backoff.js';
import type { Log } from '../common/log.js';
import type { ScalingSummary } from '../protocol/records.js';
import type { ScalingConfig } from './autoscale-config.js';
import { planScaling, type ScaleAction, type StartedRunner } from './autoscale-plan.js';
import type { RunnerRegistry } from './runner-registry.js';
import type { State } from './state.js';

export interface AutoscaleParts {
  config: ScalingConfig;
  state: State;
  runners: RunnerRegistry;
  /** Where runners reach the dispatcher (KEEL_DISPATCHER), known once it listens. */
  address(): string;
  log: Log;
}

/** Output of a command kept for its failure message. */
const KEPT_OUTPUT = 2048;
/** The names startRunner gives; a runner registering under one was started on demand. */
const STARTED_NAME = /^keel-auto-[0-9a-f]{6}-\d+$/;

export class Autoscaler {
  private readonly started = new Map<string, StartedRunner>();
  /** When each queued job was first seen waiting, this time in the queue. */
  private waitingSince = new Map<object, number>();
  private failures = 0;
  private failuresInARow = 0;
  private lastFailure = '';
  private backoffUntil = 0;
  private count = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly parts: AutoscaleParts) {}

  start(): void {
    const { scaleAfterMs, idleStopMs, startDeadlineMs } = this.parts.config;
    const every = Math.max(50, Math.min(1000, Math.min(scaleAfterMs || 1000, idleStopMs, startDeadlineMs) / 4));
    this.timer = setInterval(() => this.tick(Date.now()), every);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  summary(): ScalingSummary {
    // As things are now, not as the last tick saw them.
    this.follow(Date.now());
    return {
      started: [...this.started.values()].map(({ name, labels, state, reason, since }) => ({ name, labels: [...labels], state, reason, since: new Date(since).toISOString() })),
      failures: this.failures,
      lastFailure: this.lastFailure,
      backoffUntil: this.backoffUntil > Date.now() ? new Date(this.backoffUntil).toISOString() : null,
    };
  }

  tick(now: number): void {
    this.follow(now);
    const seen = new Map<object, number>();
    const waiting = this.parts.state.queue.flatMap(({ job }) => {
      if (job.notBefore !== null && Date.parse(job.notBefore) > now) return [];
      const since = this.waitingSince.get(job) ?? now;
      seen.set(job, since);
      return [{ labels: job.spec.labels, since }];
    });
    // A job that left the queue and came back (a retry, a lost runner) waits afresh.
    this.waitingSince = seen;
    const actions = planScaling({
      waiting, runners: this.parts.runners.views(), started: [...this.started.values()], backoffUntil: this.backoffUntil,
    }, this.parts.config, now);
    for (const action of actions) this.act(action, now);
  }

  /** Started runners that registered, went idle or busy, or went away. */
  private follow(now: number): void {
    this.adopt(now);
    for (const runner of this.started.values()) {
      const conn = this.parts.runners.named(runner.name);
      if (!conn) {
        if (runner.state !== 'starting') {
          this.parts.log(`runner ${runner.name} (started on demand) is gone`);
          this.started.delete(runner.name);
        }
        continue;
      }
      if (runner.state === 'starting') {
        Object.assign(runner, { state: 'running', since: now, idleSince: now });
        this.failuresInARow = 0;
        this.parts.log(`runner ${runner.name} (started on demand) registered`);
      }
      if (runner.state === 'running') runner.idleSince = conn.leases.size > 0 ? null : (runner.idleSince ?? now);
    }
  }

  /** Runners an earlier run of the dispatcher started, registered again: stopped once idle like its own. */
  private adopt(now: number): void {
    for (const conn of this.parts.runners.all()) {
      if (this.started.has(conn.name) || !STARTED_NAME.test(conn.name)) continue;
      const reason = 'started on demand before the dispatcher restarted';
      this.started.set(conn.name, { name: conn.name, labels: [...conn.labels], state: 'running', reason, since: now, idleSince: conn.leases.size > 0 ? null : now });
      this.parts.log(`runner ${conn.name} was ${reason}: it is stopped once idle, as the runners this run starts`);
    }
  }

  private act(action: ScaleAction, now: number): void {
    switch (action.kind) {
      case 'start': return this.startRunner(action.labels, action.reason, now);
      case 'failed': return this.failed(action.name, action.reason, now);
      case 'stop': {
        const runner = this.started.get(action.name)!;
        Object.assign(runner, { state: 'stopping', since: now, reason: action.reason });
        const conn = this.parts.runners.named(action.name);
        if (conn) conn.draining = true;
        const { stopCommand } = this.parts.config;
        this.parts.log(`runner ${action.name} (started on demand) ${action.reason}: drained${stopCommand ? '; running --runner-stop' : ' (no --runner-stop)'}`);
        if (stopCommand) {
          this.run(stopCommand, { KEEL_RUNNER_NAME: action.name }, (failure) => {
            if (failure) this.parts.log(`--runner-stop for ${action.name} failed: ${failure}`);
          });
        }
      }
    }
  }

  private startRunner(labels: string[], reason: string, now: number): void {
    this.count += 1;
    const name = `keel-auto-${randomBytes(3).toString('hex')}-${this.count}`;
    this.started.set(name, { name, labels, state: 'starting', reason, since: now, idleSince: null });
    this.parts.log(`starting runner ${name}${labels.length ? ` with labels ${labels.join(',')}` : ''}: ${reason}`);
    this.run(this.parts.config.startCommand, { KEEL_RUNNER_NAME: name, KEEL_LABELS: labels.join(',') }, (failure) => {
      // A command that fails after its runner registered (a runner in the foreground, stopped later) is no failed start.
      if (failure && this.started.get(name)?.state === 'starting') this.failed(name, `--runner-start failed: ${failure}`, Date.now());
    });
  }

  private failed(name: string, reason: string, now: number): void {
    if (!this.started.delete(name)) return;
    this.failures += 1;
    this.failuresInARow += 1;
    this.lastFailure = `${name}: ${reason}`;
    const wait = backoffDelay(this.failuresInARow - 1, { baseMs: Math.max(1000, this.parts.config.scaleAfterMs), capMs: 600_000 });
    this.backoffUntil = now + wait;
    this.parts.log(`could not start runner ${name}: ${reason}; ${this.failures} failed start(s); next start not before ${Math.round(wait / 100) / 10} s from now`);
  }

  /** Runs an operator's command; `done` gets null when it exited 0, else what went wrong. */
  private run(command: string, extra: Record<string, string>, done: (failure: string | null) => void): void {
    const child = spawn('sh', ['-c', command], {
      env: { ...this.parts.config.env, ...extra, KEEL_DISPATCHER: this.parts.address() },
      stdio: ['ignore', 'pipe', 'pipe'],
      // Its own process group: what it starts is not the dispatcher's, and a Ctrl-C of the dispatcher is not its.
      detached: true,
    });
    let output = '';
    const keep = (chunk: Buffer) => {
      output = (output + chunk.toString('utf8')).slice(-KEPT_OUTPUT);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.on('error', (error) => done(error.message));
    // 'exit', not 'close': a runner the command leaves running in the background holds its pipes open.
    child.on('exit', (code, signal) => {
      if (code === 0) return done(null);
      const last = output.trim().split('\n').at(-1) ?? '';
      done(`${signal ? `killed by ${signal}` : `exited with code ${code}`}${last ? `: ${last}` : ''}`);
    });
  }
}
