// The patches' shell: it takes series from submitters (read, their base
// found by the project's observer, their bytes kept on disk), feeds every
// event (an application made, a build's verdict, a trunk that moved, the
// trunk commits in question) to the pure planner (plan.ts), records what
// changed, and once that is durable does what the planner asked: git work
// by the observer (commands kept in the journal until answered), builds of
// the applied commits, cancels.

import type { Log } from '../../common/log.js';
import { ErrorCode } from '../../protocol/error-codes.js';
import type { CommandResult, Patch, PatchOp } from '../../protocol/messages.js';
import type { BuildRecord, Subject } from '../../protocol/records.js';
import { isRequestId } from '../../protocol/validate.js';
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
import { PatchError, readSeries, type Series } from './mbox.js';
import * as plan from './plan.js';
import type { PatchStore } from './store.js';
import { patchRef, type Action, type PatchEntry, type PatchRules, type PatchView, type Step } from './types.js';

export interface PatchesParts {
  scheduler: Scheduler;
  intake: Intake;
  observers: ObserverSessions;
  commands: BuildCommands;
  results: ResultStore;
  store: PatchStore;
  rules: PatchRules;
  log: Log;
}

/** Who acts: a submitter may act only on the patches it submitted; an admin on any. */
export interface Actor {
  by: string;
  admin: boolean;
}

const now = () => new Date().toISOString();
const emailOf = (author: string) => /<([^>]*)>/.exec(author)?.[1]?.toLowerCase() ?? author.toLowerCase();

export class Patches {
  /** Submissions go one at a time: each takes the next patch id. */
  private submitting: Promise<unknown> = Promise.resolve();

  constructor(private readonly parts: PatchesParts) {}

  private get view(): PatchView {
    const { patches, patchCounts } = this.parts.scheduler.state;
    return { patches, counts: patchCounts };
  }

  /** keel patch: a series (or a diff) and how to apply it; done names the patch once it is on disk and in the journal. */
  submit(meta: Omit<Patch, 'type'>, bytes: Buffer, actor: Actor): Promise<Reply> {
    const run = this.submitting.then(() => this.submitNow(meta, bytes, actor));
    this.submitting = run.catch(() => {});
    return run;
  }

  private async submitNow(meta: Omit<Patch, 'type'>, bytes: Buffer, { by }: Actor): Promise<Reply> {
    let series: Series;
    try {
      series = readSeries(bytes);
    } catch (error) {
      if (error instanceof PatchError) return refuse(ErrorCode.badPatch, error.message);
      throw error;
    }
    if (series.format === 'diff' && (meta.author === null || meta.subject === null)) {
      return refuse(ErrorCode.badPatch, 'a plain diff needs --author "Name <email>" and --subject: they name its commit');
    }
    if (series.format === 'mbox' && (meta.author !== null || meta.subject !== null)) {
      return refuse(ErrorCode.badPatch, 'an mbox names its own author and subject: --author and --subject are for a plain diff');
    }
    const spec = meta.base ?? series.basedOn;
    const base = await this.findBase(meta.project, spec);
    if ('code' in base) return base;
    const subject = series.subject ?? meta.subject!;
    const author = series.author ?? meta.author!;
    const into = series.format === 'mbox' ? this.earlierVersion(meta.project, subject, author, series.version) : null;
    const previous = into === null ? null : this.parts.scheduler.state.patches.get(into)!.versions.at(-1)!.version;
    const version = previous === null ? series.version : Math.max(series.version, previous + 1);
    const id = into ?? `P-${this.parts.scheduler.state.patchCounts.patches + 1}`;
    await this.parts.store.keep(id, version, bytes);
    await this.apply(plan.submit(this.view, this.parts.rules, now(), {
      project: meta.project, subject, author, by, trunk: base.trunk,
      version: {
        version, format: series.format, parts: series.parts, cover: series.cover, bytes: bytes.length, sha256: meta.sha256,
        files: series.files, baseSpec: spec, base: base.commit, by, submittedAt: now(),
      },
    }, into));
    this.parts.log(`${by} submitted ${id} v${version} "${subject}" (${series.parts} patch${series.parts === 1 ? '' : 'es'}) onto ${base.commit}`);
    const what = into === null ? 'testing' : `version ${version} of ${id}, testing`;
    return done(`${id}: ${what} "${subject}" on ${spec ?? 'the default branch'} (${base.commit.slice(0, 12)})`, id);
  }

  /** Where a series goes: a patch id's latest application, or what the observer finds for a branch, a commit or nothing (the default branch). */
  private async findBase(project: string | null, spec: string | null): Promise<{ commit: string; trunk: string | null } | Reply> {
    if (spec !== null && isRequestId(spec)) {
      const other = this.parts.scheduler.state.patches.get(spec);
      const applied = [...(other?.versions.at(-1)!.applications ?? [])].reverse().find((a) => a.applied !== null)?.applied ?? null;
      if (!other || other.project !== project) return refuse(ErrorCode.unknownBase, `the base ${spec} is not a patch of this project`);
      if (applied === null) return refuse(ErrorCode.unknownBase, `the base ${spec} has not been applied yet`);
      return { commit: applied, trunk: null };
    }
    let result: CommandResult;
    try {
      result = await this.parts.observers.question(project, { op: 'base', spec });
    } catch (error) {
      return refuse(ErrorCode.noObserver, (error as Error).message);
    }
    if (!result.ok || result.answer?.op !== 'base') return refuse(result.code ?? ErrorCode.unknownBase, result.message);
    const { commit, branch, defaultBranch, onDefault } = result.answer;
    // A commit on the default branch follows it; a commit elsewhere (or a tag) stays where it is.
    return { commit, trunk: branch ?? (onDefault ? defaultBranch : null) };
  }

  /** An open patch this series is a newer version of: the same subject and author, an older version. */
  private earlierVersion(project: string | null, subject: string, author: string, version: number): string | null {
    const same = [...this.parts.scheduler.state.patches.values()].filter((p) => p.project === project && p.state !== 'closed'
      && p.subject.trim().toLowerCase() === subject.trim().toLowerCase() && emailOf(p.author) === emailOf(author)
      && p.versions.at(-1)!.version < version);
    return same.sort((a, b) => b.seq - a.seq)[0]?.id ?? null;
  }

  /** keel patch retest|close|flag|unflag. */
  async op(id: string, op: PatchOp, flag: string | null, actor: Actor): Promise<Reply> {
    const entry = this.parts.scheduler.state.patches.get(id);
    if (!entry) return refuse(ErrorCode.unknownPatch, `no patch ${id} is known`, id);
    if ((op === 'flag' || op === 'unflag') && !actor.admin) return refuse(ErrorCode.notAllowed, 'only admins flag patches', id);
    if (!actor.admin && !entry.versions.some((v) => v.by === actor.by)) return refuse(ErrorCode.notYourPatch, `${id} was not submitted by ${actor.by}`, id);
    let step: Step | string;
    if (op === 'retest') {
      const onto = await this.trunkTip(entry);
      if (typeof onto !== 'string') return onto;
      step = plan.retest(this.view, this.parts.rules, now(), id, onto);
    } else if (op === 'close') {
      step = plan.close(this.view, this.parts.rules, now(), id, actor.by);
    } else {
      if (flag === null) return refuse(ErrorCode.badField, `patch-op ${op} needs a flag`, id);
      step = plan.flag(this.view, this.parts.rules, now(), id, flag, op === 'flag');
    }
    if (typeof step === 'string') return refuse(ErrorCode.alreadyFinished, step, id);
    await this.apply(step);
    this.parts.log(`${actor.by}: ${op} ${id}${flag ? ` ${flag}` : ''}`);
    const said = { retest: 'will be applied again and tested', close: 'is closed', flag: `is flagged ${flag}`, unflag: `is no longer flagged ${flag}` };
    return done(`${id} ${said[op]}`, id);
  }

  /** Where a retest goes: the tip of the trunk it follows, else where its latest version was last applied. */
  private async trunkTip(entry: PatchEntry): Promise<string | Reply> {
    const last = entry.versions.at(-1)!.applications.at(-1)?.onto ?? entry.versions.at(-1)!.base;
    if (entry.trunk === null) return last;
    try {
      const result = await this.parts.observers.question(entry.project, { op: 'base', spec: entry.trunk.replace(/^refs\/heads\//, '') });
      return result.ok && result.answer?.op === 'base' ? result.answer.commit : refuse(result.code ?? ErrorCode.unknownBase, result.message, entry.id);
    } catch (error) {
      return refuse(ErrorCode.noObserver, (error as Error).message, entry.id);
    }
  }

  /** An application or a trunk range the observer made (or could not). Returns what to tell whoever asked. */
  async answered(command: PendingCommand, result: CommandResult, observer: ObserverConn): Promise<string> {
    const c = command.command;
    if (c.op === 'apply') {
      const answer = result.answer?.op === 'apply' ? result.answer : null;
      await this.apply(plan.applied(this.view, this.parts.rules, now(), c.patch, c.version, c.n, {
        ok: result.ok && answer?.applied != null, applied: answer?.applied ?? null, testsOnly: answer?.testsOnly ?? null,
        conflict: answer?.conflict ?? null, message: result.message, repo: observer.repo,
      }));
    } else if (c.op === 'range') {
      const patch = this.patchOfRange(command);
      const answer = result.answer?.op === 'range' ? result.answer : null;
      if (patch !== null) await this.apply(plan.ranged(this.view, this.parts.rules, now(), patch, result.ok ? answer?.commits ?? null : null, result.message));
    }
    return result.message;
  }

  /** Range commands carry no patch id: the patch is the one narrowing between those commits. */
  private patchOfRange(command: PendingCommand): string | null {
    const c = command.command;
    if (c.op !== 'range') return null;
    const entry = [...this.parts.scheduler.state.patches.values()].find((p) => p.project === command.project && p.bisect?.phase === 'range'
      && p.brokenBy?.good === c.from && p.brokenBy.bad === c.to);
    return entry?.id ?? null;
  }

  /** A build of a patch's commit finished (durably). */
  built(build: BuildRecord): void {
    if (build.subject.kind !== 'patch' || build.subject.request === null) return;
    const step = plan.built(this.view, this.parts.rules, now(), build.subject.request, build.commit, build.status, build.message);
    void this.apply(step).catch((error: Error) => this.parts.log(`patches: ${error.message}`));
  }

  /** A commit arrived on a branch: the trunk of any patch that follows it moved. */
  trunkMoved(project: string | null, ref: string, commit: string): void {
    const step = plan.trunkMoved(this.view, this.parts.rules, now(), project, ref, commit);
    void this.apply(step).catch((error: Error) => this.parts.log(`patches: ${error.message}`));
  }

  /** A chunk of a patch's bytes, for the observer of its project; null when the patch is not that project's. */
  async read(project: string | null, id: string, version: number, offset: number): Promise<{ data: Buffer; end: boolean } | null> {
    const entry = this.parts.scheduler.state.patches.get(id);
    if (!entry || entry.project !== project || !entry.versions.some((v) => v.version === version)) return null;
    return this.parts.store.read(id, version, offset);
  }

  /**
   * At start: what was under way goes on. An application the last run
   * recorded is sent again by the observer's session; one it did not get to
   * is sent now; a build that finished before its verdict was heard is
   * heard now; retests waiting for a slot start.
   */
  async resume(): Promise<void> {
    const { state } = this.parts.scheduler;
    const pending = new Set([...state.commands.values()].map(({ command: c }) => (c.op === 'apply' ? `${c.patch}/${c.version}.${c.n}` : c.op === 'range' ? `${c.from}..${c.to}` : '')));
    for (const entry of [...state.patches.values()]) {
      for (const version of entry.versions) {
        for (const app of version.applications) {
          if (app.state === 'applying' && !pending.has(`${entry.id}/${version.version}.${app.n}`)) {
            await this.act({ kind: 'apply', patch: entry.id, version: version.version, n: app.n });
          }
          if (app.state !== 'testing') continue;
          for (const commit of [app.applied, app.testsOnly]) {
            if (commit === null) continue;
            const build = await this.buildOf(entry, app.onto, commit);
            if (build && isFinished(build.status)) this.built(build);
            else if (!build) await this.act({ kind: 'test', patch: entry.id, version: version.version, n: app.n, commit, background: app.purpose !== 'test' });
          }
        }
      }
      const broken = entry.brokenBy;
      if (entry.bisect?.phase === 'range' && broken && !pending.has(`${broken.good}..${broken.bad}`)) {
        await this.act({ kind: 'range', patch: entry.id, from: broken.good, to: broken.bad });
      }
    }
    await this.apply(plan.resume(this.view, this.parts.rules, now()));
  }

  private async buildOf(entry: PatchEntry, onto: string, commit: string): Promise<BuildRecord | null> {
    const subject = subjectOf(entry.id, onto);
    return this.parts.scheduler.state.builds.get(buildKey(entry.project, subject, commit))
      ?? (await this.parts.results.readResult({ project: entry.project, subject, commit }));
  }

  /** Records a step's changes, then (once durable) does its actions. */
  private async apply(step: Step): Promise<void> {
    if (step.patches.length === 0 && step.actions.length === 0) return;
    await this.parts.scheduler.record({ op: 'patch', patches: step.patches, counts: step.counts, at: now() });
    for (const action of step.actions) await this.act(action);
  }

  private async act(action: Action): Promise<void> {
    const { observers, intake, commands, scheduler, log } = this.parts;
    const entry = scheduler.state.patches.get(action.patch)!;
    switch (action.kind) {
      case 'apply': {
        const version = entry.versions.find((v) => v.version === action.version)!;
        const app = version.applications.find((a) => a.n === action.n)!;
        const diff = version.format === 'diff';
        log(`patches: applying ${entry.id} v${version.version} onto ${app.onto} (${app.purpose})`);
        await observers.send(entry.project, {
          op: 'apply', patch: entry.id, version: version.version, n: action.n, format: version.format, onto: app.onto,
          author: diff ? entry.author : null, subject: diff ? entry.subject : null, bytes: version.bytes, sha256: version.sha256,
        }, 'keel patches');
        return;
      }
      case 'test': {
        const app = entry.versions.find((v) => v.version === action.version)!.applications.find((a) => a.n === action.n)!;
        const ref = `${patchRef(entry.id, action.version, action.n)}${action.commit === app.testsOnly ? '-tests' : ''}`;
        const added = await intake.add({
          commit: action.commit, ref, repo: entry.repo!, project: entry.project, subject: subjectOf(entry.id, app.onto),
          supersede: false, background: action.background,
        });
        if (added) return;
        // The same commit was built before (applied again where nothing changed): its verdict stands, or it runs again.
        const build = await this.buildOf(entry, app.onto, action.commit);
        if (build && isFinished(build.status)) {
          if (app.purpose === 'test') this.built(build);
          else await commands.rerun(build, null, 'keel patches');
        }
        return;
      }
      case 'cancel-build':
        await commands.cancelKey(buildKey(entry.project, { kind: 'patch', request: entry.id }, action.commit), 'keel patches');
        return;
      case 'range':
        await observers.send(entry.project, { op: 'range', from: action.from, to: action.to }, 'keel patches');
    }
  }
}

/** What a build of a patch's commit answers. */
function subjectOf(id: string, onto: string): Subject {
  return { kind: 'patch', base: onto, request: id, requests: [] };
}
