// The gate's shell: it takes land and try requests, feeds every event (a
// merge made, a verdict, a landing) to the pure planner (plan.ts), records
// what changed, and once that is durable does what the planner asked: git
// work by the project's observer (commands kept in the journal until
// answered, so a restart of either side finishes what was under way), builds
// of the merges, runs again of failing jobs, cancels. Landed commits are
// remembered, so their arrival on the target is not built again.

import type { Log } from '../../common/log.js';
import { ErrorCode } from '../../protocol/error-codes.js';
import type { CommandResult, Land } from '../../protocol/messages.js';
import { isFinished } from '../build.js';
import type { BuildCommands } from '../commands.js';
import type { Intake } from '../intake.js';
import type { ObserverConn } from '../observer-registry.js';
import type { ObserverSessions } from '../observer-sessions.js';
import { buildKey } from '../records.js';
import { done, refuse, type Reply } from '../reply.js';
import type { ResultStore } from '../result-store.js';
import type { Scheduler } from '../scheduler.js';
import type { PendingCommand } from '../state.js';
import * as plan from './plan.js';
import { FINAL_STATES, landRef, type Action, type Batch, type BatchBuild, type GateRules, type GateView, type LandRequest, type Step } from './types.js';
import type { BuildRecord, Subject } from '../../protocol/records.js';

export interface GateParts {
  scheduler: Scheduler;
  intake: Intake;
  observers: ObserverSessions;
  commands: BuildCommands;
  results: ResultStore;
  rules: GateRules;
  log: Log;
}

const now = () => new Date().toISOString();
const BRANCH = 'refs/heads/';
const short = (ref: string) => (ref.startsWith(BRANCH) ? ref.slice(BRANCH.length) : ref);

export class Gate {
  /** Whoever waits for a request to be over (`keel land --wait`), by request id. */
  private readonly waiting = new Map<string, Array<(reply: Reply) => void>>();

  constructor(private readonly parts: GateParts) {}

  private get view(): GateView {
    const { requests, batches, gateCounts } = this.parts.scheduler.state;
    return { requests, batches, counts: gateCounts };
  }

  /** keel land / keel try: checks the branch and target in origin, then queues the request. */
  async submit(message: Land, by: string): Promise<Reply> {
    const { project, squash, priority } = message;
    let answer: CommandResult;
    try {
      answer = await this.parts.observers.question(project, { op: 'inspect', refs: [message.branch, ...(message.target ? [message.target] : [])] });
    } catch (error) {
      return refuse(ErrorCode.noObserver, (error as Error).message);
    }
    if (!answer.ok || answer.answer?.op !== 'inspect') return refuse(answer.code ?? ErrorCode.gitFailed, answer.message);
    const { refs, defaultBranch } = answer.answer;
    const head = refs.find((ref) => ref.ref === message.branch)?.commit ?? null;
    if (head === null) return refuse(ErrorCode.unknownRef, `there is no branch ${short(message.branch)} in origin`);
    const target = message.target ?? defaultBranch;
    if (target === null) return refuse(ErrorCode.unknownRef, 'origin names no default branch: give --into');
    if (message.target !== null && !refs.some((ref) => ref.ref === target && ref.commit !== null)) {
      return refuse(ErrorCode.unknownRef, `there is no branch ${short(target)} in origin to land on`);
    }
    if (target === message.branch) return refuse(ErrorCode.unknownRef, `${short(target)} cannot land on itself`);
    const kind = message.try ? 'try' : 'land';
    const step = plan.request(this.view, this.parts.rules, now(), { kind, project, branch: message.branch, target, head, priority, squash, by });
    await this.apply(step);
    const request = step.requests.find((r) => r.seq === step.counts.requests)!;
    this.parts.log(`${by} asked to ${kind} ${short(request.branch)} (${head}) into ${short(target)}: ${request.id}`);
    return done(`${request.id}: ${kind === 'land' ? 'queued to land' : 'trying'} ${short(request.branch)} (${head.slice(0, 12)}) into ${short(target)}`, request.id);
  }

  /** Resolves once the request is over: ok when it landed (or, for a try, passed). */
  wait(id: string): Promise<Reply> {
    const request = this.parts.scheduler.state.requests.get(id);
    if (!request) return Promise.resolve(refuse(ErrorCode.unknownBuild, `no request ${id} is known`, id));
    if (FINAL_STATES.has(request.state)) return Promise.resolve(outcome(request));
    return new Promise((resolve) => this.waiting.set(id, [...(this.waiting.get(id) ?? []), resolve]));
  }

  async cancel(id: string, by: string): Promise<Reply> {
    const step = plan.cancel(this.view, this.parts.rules, now(), id, by);
    if (typeof step === 'string') return refuse(ErrorCode.alreadyFinished, step, id);
    await this.apply(step);
    this.parts.log(`${by} cancelled ${id}`);
    return done(`cancelled ${id}; its target is untouched`, id);
  }

  /** A merge or landing an observer did (or could not do). Returns what to tell whoever asked. */
  async answered(command: PendingCommand, result: CommandResult, observer: ObserverConn): Promise<string> {
    const c = command.command;
    if (c.op === 'merge') {
      const answer = result.answer?.op === 'merge' ? result.answer : null;
      await this.apply(plan.merged(this.view, this.parts.rules, now(), c.batch, {
        ok: result.ok, message: result.message, commit: result.commit, base: answer?.base ?? null,
        heads: answer?.heads ?? [], repo: observer.repo, conflict: answer?.conflict ?? null,
      }));
    } else if (c.op === 'land') {
      const code = result.code === ErrorCode.targetMoved || result.code === ErrorCode.branchMoved ? result.code : null;
      const moved = result.answer?.op === 'land' ? result.answer.moved : [];
      await this.apply(plan.landed(this.view, this.parts.rules, now(), c.batch, { ok: result.ok, code, message: result.message, moved }));
    } else if (c.op === 'prune' && result.ok) {
      await this.markPruned(c.refs);
    }
    return result.message;
  }

  /** A build of a merge finished (durably). */
  built(build: BuildRecord): void {
    const batchId = build.subject.request;
    if ((build.subject.kind !== 'land' && build.subject.kind !== 'try') || batchId === null) return;
    const verdict: BatchBuild = {
      commit: build.commit, status: build.status, flaky: build.flaky, run: build.run,
      failing: build.jobs.filter((job) => job.status !== 'passed').map((job) => job.name),
    };
    void this.apply(plan.built(this.view, this.parts.rules, now(), batchId, verdict)).catch((error: Error) => this.parts.log(`gate: ${error.message}`));
  }

  /** A commit the gate landed (or merged in a landed batch) is known: its arrival on the target is not built again. */
  isLanded(project: string | null, commit: string): boolean {
    for (const request of this.parts.scheduler.state.requests.values()) {
      if (request.project === project && request.landedAs === commit) return true;
    }
    return false;
  }

  /**
   * At start: batches under way go on where they were (a command the last
   * run recorded is sent again by the observer's session; one it did not
   * get to is sent now; a build that finished before the gate heard of it
   * is heard of now), and targets with requests and nothing under way start.
   */
  async resume(): Promise<void> {
    const { state } = this.parts.scheduler;
    const pending = new Set([...state.commands.values()].map((command) => ('batch' in command.command ? `${command.command.op} ${command.command.batch}` : '')));
    for (const batch of [...state.batches.values()]) {
      if (batch.state === 'merging' && !pending.has(`merge ${batch.id}`)) await this.act({ kind: 'merge', batch });
      if (batch.state === 'landing' && !pending.has(`land ${batch.id}`)) await this.act({ kind: 'land', batch });
      if (batch.state !== 'testing') continue;
      const build = await this.buildOf(batch);
      if (build && isFinished(build.status)) this.built(build);
      else if (!build) await this.act({ kind: 'test', batch });
    }
    await this.apply(plan.resume(this.view, this.parts.rules, now()));
  }

  /** The build of a batch's merge, in memory or on disk; null when there is none yet. */
  private async buildOf(batch: Batch): Promise<BuildRecord | null> {
    if (batch.commit === null) return null;
    const subject = subjectOf(batch);
    return this.parts.scheduler.state.builds.get(buildKey(batch.project, subject, batch.commit))
      ?? (await this.parts.results.readResult({ project: batch.project, subject, commit: batch.commit }));
  }

  /** Removes from origin the refs of batches over for longer than `keepMs`. */
  async prune(keepMs: number): Promise<void> {
    const before = Date.now() - keepMs;
    const old = [...this.parts.scheduler.state.batches.values()].filter((b) => b.state === 'done' && !b.pruned && b.endedAt !== null && Date.parse(b.endedAt) < before);
    const byProject = new Map<string | null, Batch[]>();
    for (const batch of old) byProject.set(batch.project, [...(byProject.get(batch.project) ?? []), batch]);
    for (const [project, batches] of byProject) {
      await this.parts.observers.send(project, { op: 'prune', refs: batches.map((b) => landRef(b.id)) }, 'keel (--keep-refs)');
    }
  }

  private async markPruned(refs: string[]): Promise<void> {
    const batches = [...this.parts.scheduler.state.batches.values()].filter((b) => refs.includes(landRef(b.id))).map((b) => ({ ...b, pruned: true }));
    if (batches.length === 0) return;
    await this.parts.scheduler.record({ op: 'gate', requests: [], batches, counts: this.view.counts, at: now() });
  }

  /** Records a step's changes, then (once durable) does its actions. */
  private async apply(step: Step): Promise<void> {
    if (step.requests.length === 0 && step.batches.length === 0 && step.actions.length === 0) return;
    await this.parts.scheduler.record({ op: 'gate', requests: step.requests, batches: step.batches, counts: step.counts, at: now() });
    for (const action of step.actions) await this.act(action);
  }

  private async act(action: Action): Promise<void> {
    const { observers, intake, commands, scheduler } = this.parts;
    const { batch } = action as { batch?: Batch };
    switch (action.kind) {
      case 'merge': {
        const steps = action.batch.requests.map((id) => {
          const request = scheduler.state.requests.get(id)!;
          return { request: id, branch: request.branch, by: request.by };
        });
        const squash = action.batch.requests.some((id) => scheduler.state.requests.get(id)!.squash);
        const onto = action.batch.onto === null ? short(action.batch.target) : `${action.batch.onto} (${action.batch.base})`;
        this.parts.log(`gate: merging ${action.batch.id} (${action.batch.requests.join(', ')}) onto ${onto}${action.batch.attempt > 1 ? `, attempt ${action.batch.attempt}` : ''}`);
        await observers.send(action.batch.project, {
          op: 'merge', batch: action.batch.id, kind: action.batch.kind, target: action.batch.target, onto: action.batch.base,
          steps, squash, attempt: action.batch.attempt,
        }, 'keel gate');
        return;
      }
      case 'test':
        await intake.add({
          commit: batch!.commit!, ref: landRef(batch!.id), repo: batch!.repo!, project: batch!.project,
          subject: subjectOf(batch!), supersede: false,
        });
        return;
      case 'retry': {
        const build = await this.buildOf(action.batch);
        if (build && isFinished(build.status)) await commands.rerun(build, action.jobs.length > 0 ? action.jobs : null, 'keel gate');
        return;
      }
      case 'land': {
        const heads = action.batch.requests.map((id) => {
          const request = scheduler.state.requests.get(id)!;
          return { request: id, branch: request.branch, commit: request.head };
        });
        this.parts.log(`gate: landing ${action.batch.id} on ${short(action.batch.target)} as ${action.batch.commit}`);
        await observers.send(action.batch.project, {
          op: 'land', batch: action.batch.id, target: action.batch.target, expect: action.batch.base!, commit: action.batch.commit!, heads,
        }, 'keel gate');
        return;
      }
      case 'cancel-build': {
        if (action.batch.commit === null) return;
        const key = buildKey(action.batch.project, subjectOf(action.batch), action.batch.commit);
        await commands.cancelKey(key, 'keel gate');
        return;
      }
      case 'settled': {
        this.parts.log(`gate: ${action.request.id} ${action.request.state}: ${action.request.message}`);
        for (const resolve of this.waiting.get(action.request.id) ?? []) resolve(outcome(action.request));
        this.waiting.delete(action.request.id);
      }
    }
  }
}

/** What a build of a batch's merge answers. */
function subjectOf(batch: Batch): Subject {
  return { kind: batch.kind, base: batch.base, request: batch.id, requests: [...batch.requests] };
}

/** How a finished request answers whoever waited for it. */
function outcome(request: LandRequest): Reply {
  const good = request.state === 'landed' || request.state === 'passed';
  const codes: Partial<Record<LandRequest['state'], ErrorCode>> = {
    failed: ErrorCode.testsFailed, conflict: ErrorCode.conflict, cancelled: ErrorCode.cancelled, error: ErrorCode.landFailed,
  };
  return { ok: good, code: good ? null : codes[request.state] ?? ErrorCode.landFailed, message: `${request.id} ${request.state}: ${request.message}`, request: request.id };
}
