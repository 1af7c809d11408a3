// What an admin may ask of builds: cancel one (or many: bulk-cancel.ts),
// retry one (or one of its jobs), or build a branch's head or a commit now.
// Each answers with a Reply (`ok`, a code from the table when not, a
// sentence for people) once what it did is durable; running jobs of a
// cancelled build are aborted only then.

import type { Log } from '../common/log.js';
import { ErrorCode } from '../protocol/error-codes.js';
import { done, refuse, type Reply } from './reply.js';
import type { CommandResult } from '../protocol/messages.js';
import { PUSH, type BuildRecord } from '../protocol/records.js';
import { isFinished } from './build.js';
import { jobsToRerun } from './job-decisions.js';
import type { Intake } from './intake.js';
import type { ObserverConn } from './observer-registry.js';
import type { ObserverSessions } from './observer-sessions.js';
import { buildKey, keyOf } from './records.js';
import type { ResultStore } from './result-store.js';
import type { RunnerConn, RunnerRegistry } from './runner-registry.js';
import type { Scheduler } from './scheduler.js';
import type { PendingCommand } from './state.js';

export interface CommandParts {
  scheduler: Scheduler;
  runners: RunnerRegistry;
  results: ResultStore;
  intake: Intake;
  log: Log;
}

export class BuildCommands {
  /** Set once the observer sessions exist: they and these commands need each other. */
  observers!: ObserverSessions;

  constructor(private readonly parts: CommandParts) {}

  private get state() {
    return this.parts.scheduler.state;
  }

  /** keel cancel: stops a queued or running build; running jobs' process groups are killed. */
  cancel(project: string | null, commit: string, by: string): Promise<Reply> {
    return this.cancelKey(buildKey(project, PUSH, commit), by);
  }

  /** Cancels the build known by `key`, whatever its subject. */
  async cancelKey(key: string, by: string): Promise<Reply> {
    const build = this.state.builds.get(key);
    if (!build) return refuse(ErrorCode.unknownBuild, `no queued or running build of ${key}`);
    if (isFinished(build.status)) return refuse(ErrorCode.alreadyFinished, `${key} has already finished (${build.status})`);
    await this.cancelBuilds([build], by);
    return done(`cancelled ${key}`);
  }

  /**
   * Cancels unfinished builds in one go: one `cancel` record each (a batch
   * the journal writes with one sync), running jobs aborted once durable.
   */
  async cancelBuilds(builds: BuildRecord[], by: string): Promise<void> {
    const aborts: Array<{ id: string; holder: RunnerConn }> = [];
    const durable: Promise<void>[] = [];
    for (const build of builds) {
      const key = keyOf(build);
      const running = [...this.state.leases.values()].filter((lease) => lease.build === build).flatMap((lease) => {
        const holder = this.parts.runners.holder(lease.id);
        this.parts.runners.unbind(lease.id);
        return holder ? [{ id: lease.id, holder }] : [];
      });
      aborts.push(...running);
      durable.push(this.parts.scheduler.record({ op: 'cancel', key, by, at: new Date().toISOString() }));
      if (builds.length === 1) this.parts.log(`${by} cancelled ${key}${running.length ? `; aborting ${running.length} running job(s)` : ''}`);
    }
    if (builds.length > 1) this.parts.log(`${by} cancelled ${builds.length} builds${aborts.length ? `; aborting ${aborts.length} running job(s)` : ''}`);
    this.parts.scheduler.schedule();
    await Promise.all(durable);
    for (const { id, holder } of aborts) holder.peer.send({ type: 'abort', lease: id });
  }

  /** keel retry: runs a finished build (or one of its jobs) again, keeping the earlier attempts. */
  async retry(project: string | null, commit: string, jobId: string | null, by: string): Promise<Reply> {
    const key = buildKey(project, PUSH, commit);
    const active = this.state.builds.get(key);
    if (active && !isFinished(active.status)) return refuse(ErrorCode.notFinished, `${key} is still ${active.status}`);
    const build = active ?? (await this.parts.results.readResult({ project, subject: PUSH, commit }));
    if (!build) return refuse(ErrorCode.unknownBuild, `no build of ${key} is known`);
    return this.rerun(build, jobId === null ? null : [jobId], by);
  }

  /** Runs a finished build again as its next run: every job (but a generator's and skipped ones, see jobsToRerun), or only `jobIds`. */
  async rerun(build: BuildRecord, asked: string[] | null, by: string): Promise<Reply> {
    const key = keyOf(build);
    const jobIds = asked ?? jobsToRerun(build);
    if (build.jobs.length === 0) return refuse(ErrorCode.noJobs, `${key} has no jobs to run again (${build.message})`);
    const unknown = (jobIds ?? []).find((id) => !build.jobs.some((job) => job.name === id));
    if (unknown !== undefined) {
      return refuse(ErrorCode.unknownJob, `${key} has no job ${unknown}; its jobs are ${build.jobs.map((job) => job.name).join(', ')}`);
    }
    const which = asked === null ? '' : ` (${asked.join(', ')})`;
    const jobs = jobIds !== null && jobIds.length === 1 ? { job: jobIds[0]! } : { job: null, ...(jobIds === null ? {} : { jobs: jobIds }) };
    const durable = this.parts.scheduler.record({ op: 'retry', build: structuredClone(build), ...jobs, by, at: new Date().toISOString() });
    this.parts.log(`${by} asked to retry ${key}${which}`);
    this.parts.scheduler.schedule();
    await durable;
    return done(`retrying ${key}${which}`);
  }

  /**
   * keel build: asks the project's observer where `ref` points, or which
   * commit `commit` (full or short) is and a branch that has it, then builds
   * that commit (or runs its build again).
   */
  build(project: string | null, target: { ref: string } | { commit: string }, by: string): Promise<Reply> {
    const command = 'ref' in target ? { op: 'resolve' as const, ref: target.ref } : { op: 'locate' as const, commit: target.commit };
    return this.observers.ask(project, command, by);
  }

  /** A `resolve` or `locate` command came back: build the commit it names. Returns what to tell whoever asked. */
  async resolved(command: PendingCommand, result: CommandResult, observer: ObserverConn): Promise<string> {
    const ref = command.command.op === 'resolve' ? command.command.ref : result.answer?.op === 'locate' ? result.answer.ref : null;
    if (result.commit === null || ref === null) return result.message;
    const commit = result.commit;
    const key = buildKey(observer.project, PUSH, commit);
    const known = this.state.builds.get(key);
    if (known && !isFinished(known.status)) return `${key} (${ref}) is already ${known.status}`;
    const finished = known ?? (await this.parts.results.readResult({ project: observer.project, subject: PUSH, commit }));
    if (finished) {
      const reply = await this.rerun(finished, null, command.by);
      if (!reply.ok) throw new Error(reply.message);
      return `${reply.message} (${ref})`;
    }
    const supersede = observer.supersede;
    await this.parts.intake.add({ commit, ref, repo: observer.repo, project: observer.project, subject: PUSH, supersede });
    return `queued ${key} (${ref})`;
  }
}
