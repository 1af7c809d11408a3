// What happens to patches, as pure functions of plain values: given the
// patches as they are and one event (a submission, an application made, a
// build's verdict, a trunk that moved, the trunk commits in question, a
// retest, a close, a flag), what changes and what to do next. The shell
// (patches.ts) records the changes and, once they are durable, does the
// actions: git work by the project's observer, builds, cancels.
//
// The rules:
// - A version is applied onto its base and tested; when it changes tests
//   and other files, its test changes alone are tested on the base too, and
//   the two verdicts say whether the fix fixes it.
// - When the trunk a patch follows moves, the patch waits to be retested
//   on the new tip (a newer tip replaces one it still waits for); at most
//   `maxRetests` retests and narrowing steps are under way at once.
// - A patch that passed (or applied) on an earlier trunk and fails (or does
//   not apply) on a later one is broken by trunk: the trunk commits in
//   between are asked for and halved, applying the patch on one at a time,
//   down to the first trunk commit with which it fails.

import { LIMITS } from '../../protocol/limits.js';
import type { BuildStatus } from '../../protocol/records.js';
import type { ApplicationPurpose, FixCheck, PatchApplication, PatchState, PatchVersion } from '../../protocol/patch-records.js';
import { CopyOnWrite } from '../copy-on-write.js';
import type { Action, Bisect, PatchCounts, PatchEntry, PatchRules, PatchView, Step } from './types.js';

/** Collects the changes of one step over a view, copying the patches it changes. */
class Changes {
  private readonly patches: CopyOnWrite<PatchEntry>;
  readonly actions: Action[] = [];
  counts: PatchCounts;

  constructor(view: PatchView, readonly rules: PatchRules, readonly now: string) {
    this.patches = new CopyOnWrite(view.patches);
    this.counts = { ...view.counts };
  }

  patch(id: string): PatchEntry {
    return this.patches.get(id);
  }

  add(entry: PatchEntry): void {
    this.patches.add(entry);
  }

  /** Every patch as this step leaves it, in arrival order. */
  all(): PatchEntry[] {
    return this.patches.all().sort((a, b) => a.seq - b.seq);
  }

  result(): Step {
    return { patches: this.patches.changes(), counts: this.counts, actions: this.actions };
  }
}

const UNDER_WAY: ReadonlySet<PatchApplication['state']> = new Set(['applying', 'testing']);
const latest = (entry: PatchEntry): PatchVersion => entry.versions.at(-1)!;

/** The applications that decide a patch's state: its latest version's, narrowing steps left out. */
const deciding = (entry: PatchEntry) => latest(entry).applications.filter((a) => a.purpose !== 'bisect');

/** A patch's state from its latest version's latest application. */
function refresh(entry: PatchEntry): void {
  if (entry.state === 'closed') return;
  const last = deciding(entry).at(-1);
  const states: Record<PatchApplication['state'], PatchState> = {
    applying: 'open', testing: 'open', passed: 'passed', failed: 'failed', error: 'failed', cancelled: 'failed', conflict: 'conflict',
  };
  entry.state = last ? states[last.state] : 'open';
  entry.message = last?.message ?? '';
}

/** Starts an application of the latest version onto `onto`. */
function apply(c: Changes, entry: PatchEntry, purpose: ApplicationPurpose, onto: string): void {
  const version = latest(entry);
  const n = (version.applications.at(-1)?.n ?? 0) + 1;
  version.applications.push({
    n, purpose, onto, applied: null, testsOnly: null, state: 'applying', status: null, testsOnlyStatus: null, fix: null,
    message: '', at: c.now, endedAt: null,
  });
  // The first application and the latest ones are kept.
  while (version.applications.length > LIMITS.patchApplications) {
    const old = version.applications.findIndex((a, i) => i > 0 && !UNDER_WAY.has(a.state));
    if (old === -1) break;
    version.applications.splice(old, 1);
  }
  c.actions.push({ kind: 'apply', patch: entry.id, version: version.version, n });
  refresh(entry);
}

/** Stops what is under way of a patch: builds cancelled, applications marked. */
function stop(c: Changes, entry: PatchEntry, why: string): void {
  for (const version of entry.versions) {
    for (const app of version.applications) {
      if (!UNDER_WAY.has(app.state)) continue;
      for (const commit of [app.applied, app.testsOnly]) if (commit !== null && app.state === 'testing') c.actions.push({ kind: 'cancel-build', patch: entry.id, commit });
      Object.assign(app, { state: 'cancelled', message: why, endedAt: c.now });
    }
  }
  entry.pendingRetest = null;
  entry.bisect = null;
}

/** Retests and narrowing steps waiting for a slot start, oldest patch first. */
function startRetests(c: Changes): void {
  const all = c.all();
  let running = all.flatMap((e) => latest(e).applications).filter((a) => a.purpose !== 'test' && UNDER_WAY.has(a.state)).length;
  for (const entry of all) {
    if (running >= c.rules.maxRetests) return;
    if (entry.state === 'closed') continue;
    const busy = (purpose: ApplicationPurpose) => latest(entry).applications.some((a) => a.purpose === purpose && UNDER_WAY.has(a.state));
    if (entry.pendingRetest !== null && !busy('retest') && !busy('test')) {
      const e = c.patch(entry.id);
      const onto = e.pendingRetest!;
      e.pendingRetest = null;
      apply(c, e, 'retest', onto);
      running += 1;
    }
    if (running < c.rules.maxRetests && entry.bisect?.phase === 'search' && !busy('bisect')) {
      const e = c.patch(entry.id);
      const search = e.bisect as Extract<Bisect, { phase: 'search' }>;
      apply(c, e, 'bisect', search.commits[Math.floor((search.good + search.bad) / 2)]!);
      running += 1;
    }
  }
}

export interface Submission {
  project: string | null;
  subject: string;
  author: string;
  by: string;
  trunk: string | null;
  version: Omit<PatchVersion, 'applications'>;
}

/** A new patch, or (`into`) a new version of one: applied onto its base at once. */
export function submit(view: PatchView, rules: PatchRules, now: string, s: Submission, into: string | null): Step {
  const c = new Changes(view, rules, now);
  let entry: PatchEntry;
  if (into !== null) {
    entry = c.patch(into);
    stop(c, entry, `superseded by version ${s.version.version}`);
    Object.assign(entry, { subject: s.subject, trunk: s.trunk, brokenBy: null, state: 'open', closedAt: null });
  } else {
    c.counts.patches += 1;
    entry = {
      id: `P-${c.counts.patches}`, project: s.project, subject: s.subject, author: s.author, state: 'open', message: '', trunk: s.trunk,
      flags: [], by: s.by, submittedAt: now, closedAt: null, versions: [], brokenBy: null, seq: c.counts.patches, pendingRetest: null, bisect: null,
      repo: null,
    };
    c.add(entry);
  }
  entry.versions.push({ ...s.version, applications: [] });
  apply(c, entry, 'test', s.version.base);
  return c.result();
}

export interface Applied {
  ok: boolean;
  applied: string | null;
  testsOnly: string | null;
  /** Git's account of a series that does not apply. */
  conflict: { message: string; files: string[] } | null;
  message: string;
  /** The repository of the observer that applied it. */
  repo: string;
}

function findApp(entry: PatchEntry, version: number, n: number): PatchApplication | undefined {
  return entry.versions.find((v) => v.version === version)?.applications.find((a) => a.n === n);
}

export function applied(view: PatchView, rules: PatchRules, now: string, id: string, version: number, n: number, result: Applied): Step {
  const c = new Changes(view, rules, now);
  const known = view.patches.get(id);
  if (!known || findApp(known, version, n)?.state !== 'applying') return c.result();
  const entry = c.patch(id);
  const app = findApp(entry, version, n)!;
  const background = app.purpose !== 'test';
  entry.repo = result.repo;
  if (result.ok && result.applied !== null) {
    Object.assign(app, { state: 'testing', applied: result.applied, testsOnly: result.testsOnly, fix: result.testsOnly === null ? 'n/a' : null });
    for (const commit of [result.applied, result.testsOnly]) if (commit !== null) c.actions.push({ kind: 'test', patch: id, version, n, commit, background });
    refresh(entry);
  } else {
    const why = result.conflict
      ? `does not apply: ${result.conflict.message}${result.conflict.files.length > 0 ? ` (${result.conflict.files.join(', ')})` : ''}`
      : `could not be applied: ${result.message}`;
    Object.assign(app, { state: result.conflict ? 'conflict' : 'error', message: why, endedAt: now });
    concluded(c, entry, app);
  }
  startRetests(c);
  return c.result();
}

/** A build of a patch's commit finished: the application it belongs to ends once its builds have. */
export function built(view: PatchView, rules: PatchRules, now: string, id: string, commit: string, status: BuildStatus, message: string): Step {
  const c = new Changes(view, rules, now);
  const known = view.patches.get(id);
  const testing = (a: PatchApplication) => a.state === 'testing' && (a.applied === commit || a.testsOnly === commit);
  if (!known || status === 'cancelled' || status === 'skipped' || !known.versions.some((v) => v.applications.some(testing))) return c.result();
  const entry = c.patch(id);
  const app = entry.versions.flatMap((v) => v.applications).find(testing)!;
  if (app.applied === commit) Object.assign(app, { status, message });
  if (app.testsOnly === commit && app.applied !== commit) app.testsOnlyStatus = status;
  if (app.status === null || (app.testsOnly !== null && app.testsOnlyStatus === null)) return c.result();
  const state = app.status === 'passed' ? 'passed' : app.status === 'failed' ? 'failed' : 'error';
  Object.assign(app, { state, endedAt: now, fix: app.fix ?? fixCheck(app.status, app.testsOnlyStatus!) });
  if (state === 'passed' && app.message === '') app.message = `passed on ${app.onto}`;
  concluded(c, entry, app);
  startRetests(c);
  return c.result();
}

/** The seed's question: do the tests fail without the fix and pass with it? */
function fixCheck(whole: BuildStatus, testsAlone: BuildStatus): FixCheck {
  if (testsAlone === 'passed') return 'tests-pass-without-fix';
  return whole === 'passed' && testsAlone === 'failed' ? 'verified' : 'n/a';
}

/** An application ended: a narrowing step moves the narrowing on; another may find the patch broken by trunk (or mended). */
function concluded(c: Changes, entry: PatchEntry, app: PatchApplication): void {
  if (app.purpose === 'bisect') return narrowed(entry, app);
  refresh(entry);
  const apps = deciding(entry);
  if (apps.at(-1) !== app) return;
  if (app.state === 'passed') {
    entry.brokenBy = null;
    entry.bisect = null;
    return;
  }
  if (app.state !== 'failed' && app.state !== 'conflict') return;
  // Passed (or, when it no longer applies, applied) on an earlier trunk.
  const good = [...apps].reverse().find((a) => a !== app && a.onto !== app.onto && (a.state === 'passed' || (app.state === 'conflict' && a.state === 'failed')));
  if (!good || entry.trunk === null || entry.brokenBy?.bad === app.onto) return;
  entry.brokenBy = { good: good.onto, bad: app.onto, at: c.now, first: null, left: 0, message: 'narrowing down the trunk commit that broke it' };
  entry.bisect = { phase: 'range' };
  c.actions.push({ kind: 'range', patch: entry.id, from: good.onto, to: app.onto });
}

/** A narrowing step ended: good or bad halves the trunk commits in question. */
function narrowed(entry: PatchEntry, app: PatchApplication): void {
  const search = entry.bisect;
  const broken = entry.brokenBy;
  if (search?.phase !== 'search' || broken === null) return;
  if (app.state === 'error' || app.state === 'cancelled') {
    Object.assign(broken, { message: `could not narrow it down: ${app.message}` });
    entry.bisect = null;
    return;
  }
  const looking = lookingFor(entry);
  const at = search.commits.indexOf(app.onto);
  const good = app.state === 'passed' || (looking === 'conflict' && app.state === 'failed');
  if (good) search.good = at;
  else search.bad = at;
  broken.left = search.bad - search.good - 1;
  if (search.bad - search.good > 1) return;
  broken.first = search.commits[search.bad]!;
  broken.message = `${looking === 'conflict' ? 'does not apply' : 'fails'} from trunk commit ${broken.first} on`;
  entry.bisect = null;
}

/** What the narrowing looks for: where the patch fails, or where it stops applying. */
function lookingFor(entry: PatchEntry): 'failed' | 'conflict' {
  return deciding(entry).at(-1)?.state === 'conflict' ? 'conflict' : 'failed';
}

/** The trunk commits between the last good and the first bad one arrived (or could not be listed). */
export function ranged(view: PatchView, rules: PatchRules, now: string, id: string, commits: string[] | null, message: string): Step {
  const c = new Changes(view, rules, now);
  if (view.patches.get(id)?.bisect?.phase !== 'range') return c.result();
  const entry = c.patch(id);
  const broken = entry.brokenBy!;
  if (commits === null || commits.length === 0) {
    Object.assign(broken, { message: `could not list the trunk commits in between: ${message}` });
    entry.bisect = null;
  } else if (commits.length === 1) {
    Object.assign(broken, { first: commits[0], left: 0, message: `${lookingFor(entry) === 'conflict' ? 'does not apply' : 'fails'} from trunk commit ${commits[0]} on` });
    entry.bisect = null;
  } else {
    entry.bisect = { phase: 'search', commits, good: -1, bad: commits.length - 1 };
    broken.left = commits.length - 1;
  }
  startRetests(c);
  return c.result();
}

/** The trunk `ref` of `project` moved to `commit`: every open patch following it waits to be retested there. */
export function trunkMoved(view: PatchView, rules: PatchRules, now: string, project: string | null, ref: string, commit: string): Step {
  const c = new Changes(view, rules, now);
  for (const entry of view.patches.values()) {
    if (entry.project !== project || entry.trunk !== ref || entry.state === 'closed' || entry.pendingRetest === commit) continue;
    if (deciding(entry).at(-1)?.onto === commit) continue;
    c.patch(entry.id).pendingRetest = commit;
  }
  startRetests(c);
  return c.result();
}

/** keel patch retest: applied again onto `onto` (the trunk's tip, or where it was last applied). */
export function retest(view: PatchView, rules: PatchRules, now: string, id: string, onto: string): Step | string {
  const known = view.patches.get(id);
  if (!known) return `no patch ${id} is known`;
  if (known.state === 'closed') return `${id} is closed`;
  const c = new Changes(view, rules, now);
  c.patch(id).pendingRetest = onto;
  startRetests(c);
  return c.result();
}

export function close(view: PatchView, rules: PatchRules, now: string, id: string, by: string): Step | string {
  const known = view.patches.get(id);
  if (!known) return `no patch ${id} is known`;
  if (known.state === 'closed') return `${id} is already closed`;
  const c = new Changes(view, rules, now);
  const entry = c.patch(id);
  stop(c, entry, `closed by ${by}`);
  Object.assign(entry, { state: 'closed', closedAt: now, message: `closed by ${by}` });
  startRetests(c);
  return c.result();
}

export function flag(view: PatchView, rules: PatchRules, now: string, id: string, name: string, on: boolean): Step | string {
  const known = view.patches.get(id);
  if (!known) return `no patch ${id} is known`;
  if (on && !known.flags.includes(name) && known.flags.length >= LIMITS.patchFlags) return `${id} has ${LIMITS.patchFlags} flags already`;
  const c = new Changes(view, rules, now);
  const entry = c.patch(id);
  entry.flags = on ? [...new Set([...entry.flags, name])].sort() : entry.flags.filter((f) => f !== name);
  return c.result();
}

/** After a restart: retests and narrowing steps that were waiting for a slot start. */
export function resume(view: PatchView, rules: PatchRules, now: string): Step {
  const c = new Changes(view, rules, now);
  startRetests(c);
  return c.result();
}
