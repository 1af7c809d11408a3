// The gate's decisions as pure functions of plain values: given the requests
// and batches as they are and one event (a request, a merge, a verdict, a
// landing, a cancel), what changes and what to do next. No clock (times are
// passed in), no I/O: the shell records the changes and does the actions.
//
// The rules:
// - One queue per target, by priority, then place. Waiting requests are
//   batched, at most --batch together, and batches are stacked: the first
//   is merged onto the target's tip, each next one onto the merge of the one
//   ahead of it (at most `depth` under way), so all are tested at once and
//   each lands in turn by moving the target on to its merge.
// - A batch lands when it passed and everything ahead of it landed, by
//   compare-and-swap from the commit it was merged onto. If the target moved
//   meanwhile, it is merged again onto the new tip (at most --max-remerge
//   times); what was stacked on it queues again.
// - A batch that fails at the head of the queue has its failing jobs run
//   once more on the same commit. A pass makes the failure a flaky one: it
//   lands, marked. A failure again is confirmed: a single request fails;
//   a batch of several is split in halves that queue again at the back, the
//   requests behind it going first without it. A half failing the same jobs
//   needs no second run. Whatever was stacked on a batch that did not land
//   queues again.
// - A merge that conflicts ends that request as `conflict`; the others of
//   its batch go back to the queue. A branch that moved after it was merged
//   restarts its request with the new head. A try is merged onto the tip at
//   once and never queues or lands.

import { Changes } from './changes.js';
import type { Batch, BatchBuild, GateRules, GateView, LandRequest, Step } from './types.js';

const byQueueOrder = (a: LandRequest, b: LandRequest) => b.priority - a.priority || a.order - b.order;

/** A request is over: why, and whoever waits is told. */
function settle(c: Changes, id: string, state: LandRequest['state'], message: string): void {
  const request = c.request(id);
  Object.assign(request, { state, message, batch: null, endedAt: c.now });
  c.actions.push({ kind: 'settled', request });
}

/** Back to the queue in its place (a batch it was in ended without deciding it). */
function requeue(c: Changes, id: string, message = ''): void {
  if (c.request(id).endedAt !== null) return;
  Object.assign(c.request(id), { state: 'queued', batch: null, message });
}

function endBatch(c: Changes, batch: Batch): void {
  batch.state = 'done';
  batch.endedAt = c.now;
}

/** Nothing is ahead of it: it is stacked on nothing, or on a batch that landed. */
function atHead(c: Changes, batch: Batch): boolean {
  return batch.onto === null || (c.peek(batch.onto)?.state ?? 'done') === 'done';
}

/** The target's batches under way, head first, each stacked on the one before. */
function chainOf(c: Changes, project: string | null, target: string): Batch[] {
  const active = c.allBatches().filter((b) => b.kind === 'land' && b.state !== 'done' && b.project === project && b.target === target);
  const chain: Batch[] = [];
  for (let next = active.find((b) => atHead(c, b)); next !== undefined; next = active.find((b) => b.onto === chain.at(-1)!.id)) {
    chain.push(next);
  }
  return chain;
}

/** Whatever is stacked on `batch`, directly or not (its merge holds `batch`'s), ends, and its requests queue again in their places. */
function dropBehind(c: Changes, batch: Batch, why: string): void {
  const stackedOn = (id: string) => c.allBatches().find((b) => b.state !== 'done' && b.onto === id);
  for (let next = stackedOn(batch.id); next !== undefined; next = stackedOn(next.id)) {
    const b = c.batch(next.id);
    if (b.state === 'testing' || b.state === 'waiting') c.actions.push({ kind: 'cancel-build', batch: b });
    endBatch(c, b);
    for (const id of b.requests) requeue(c, id, `queued again: ${batch.id} ahead of it ${why}`);
  }
}

/** Stacks new batches of a target's queue, while fewer than `depth` are under way and the last is merged. */
function schedule(c: Changes, project: string | null, target: string): void {
  const chain = chainOf(c, project, target);
  while (chain.length < c.rules.depth) {
    const last = chain.at(-1) ?? null;
    // Stacked only on a merge that exists.
    if (last !== null && last.commit === null) return;
    const queued = c.allRequests()
      .filter((r) => r.kind === 'land' && r.state === 'queued' && r.project === project && r.target === target)
      .sort(byQueueOrder);
    if (queued.length === 0) return;
    const first = queued[0]!;
    const requests = first.group !== null
      ? queued.filter((r) => r.group === first.group)
      : takeWhile(queued, (r) => r.group === null).slice(0, c.rules.batchSize);
    chain.push(c.newBatch({ kind: 'land', project, target, requests: requests.map((r) => r.id), onto: last?.id ?? null, base: last?.commit ?? null }));
  }
}

function takeWhile<T>(items: T[], keep: (item: T) => boolean): T[] {
  const end = items.findIndex((item) => !keep(item));
  return end === -1 ? items : items.slice(0, end);
}

export function request(view: GateView, rules: GateRules, now: string, fields: Omit<LandRequest, 'id' | 'seq' | 'order' | 'group' | 'known' | 'state' | 'message' | 'queuedAt' | 'endedAt' | 'flaky' | 'landedAs' | 'builds' | 'batch'>): Step {
  const c = new Changes(view, rules, now);
  c.counts.requests += 1;
  c.counts.order += 1;
  const id = `${fields.kind === 'land' ? 'L' : 'T'}-${c.counts.requests}`;
  c.addRequest({
    ...fields, id, seq: c.counts.requests, order: c.counts.order, group: null, known: [], state: 'queued', message: '', queuedAt: now,
    endedAt: null, flaky: false, landedAs: null, builds: [], batch: null,
  });
  // A try never waits in the target's queue.
  if (fields.kind === 'try') c.newBatch({ kind: 'try', project: fields.project, target: fields.target, requests: [id], onto: null, base: null });
  else schedule(c, fields.project, fields.target);
  return c.result();
}

export interface Merged {
  ok: boolean;
  message: string;
  /** The merge (the last commit of the chain), what it was merged onto, and each branch as merged. */
  commit: string | null;
  base: string | null;
  heads: Array<{ request: string; commit: string }>;
  repo: string;
  /** The request whose branch did not merge. */
  conflict: { request: string; files: string[] } | null;
}

export function merged(view: GateView, rules: GateRules, now: string, batchId: string, result: Merged): Step {
  const c = new Changes(view, rules, now);
  const batch = view.batches.get(batchId);
  if (!batch || batch.state !== 'merging') return c.result();
  const b = c.batch(batchId);
  if (result.conflict) {
    const { request: failed, files } = result.conflict;
    const onto = b.onto === null ? b.target : `${b.target} and the requests ahead of it`;
    settle(c, failed, 'conflict', `${c.request(failed).branch} does not merge into ${onto}: conflict in ${files.join(', ') || 'the tree'}`);
    for (const id of b.requests) requeue(c, id);
    endBatch(c, b);
  } else if (!result.ok || result.commit === null || result.base === null) {
    for (const id of b.requests) settle(c, id, 'error', `the merge failed: ${result.message}`);
    endBatch(c, b);
  } else {
    Object.assign(b, { state: 'testing', commit: result.commit, base: result.base, repo: result.repo, retry: 'none', verdict: null });
    for (const id of b.requests) {
      const request = c.request(id);
      const head = result.heads.find((h) => h.request === id)?.commit;
      if (head !== undefined && head !== request.head) {
        request.message = `${request.branch} moved to ${head} while it waited; testing that`;
        request.head = head;
      }
      request.state = 'testing';
      request.builds.push({ batch: b.id, commit: result.commit, base: result.base, status: 'queued' });
    }
    c.actions.push({ kind: 'test', batch: b });
  }
  if (b.kind === 'land') schedule(c, b.project, b.target);
  return c.result();
}

function recordVerdict(c: Changes, b: Batch, build: BatchBuild): void {
  for (const id of b.requests) {
    const attempt = [...c.request(id).builds].reverse().find((a) => a.batch === b.id && a.commit === build.commit);
    if (attempt) attempt.status = build.status;
  }
}

/** A batch that passed lands when nothing is ahead of it; otherwise it waits for what is. */
function passed(c: Changes, b: Batch): void {
  if (!atHead(c, b)) {
    Object.assign(b, { state: 'waiting', verdict: 'passed' });
    return;
  }
  Object.assign(b, { state: 'landing', verdict: null });
  for (const id of b.requests) c.request(id).state = 'landing';
  c.actions.push({ kind: 'land', batch: b });
}

/** A batch that failed: its verdict counts only once nothing is ahead of it (what is ahead may be the cause). */
function failedRun(c: Changes, b: Batch): void {
  if (!atHead(c, b)) {
    Object.assign(b, { state: 'waiting', verdict: 'failed' });
    return;
  }
  const known = c.request(b.requests[0]!).known;
  if (b.retry === 'none' && !b.failing.every((job) => known.includes(job))) {
    Object.assign(b, { state: 'testing', verdict: null, retry: 'running' });
    c.actions.push({ kind: 'retry', batch: b, jobs: b.failing });
    return;
  }
  confirmed(c, b);
}

/** The failure is real: a single request fails; several are split in halves that queue again at the back. */
function confirmed(c: Changes, b: Batch): void {
  endBatch(c, b);
  dropBehind(c, b, 'failed');
  const again = b.retry === 'failed' ? ', and again when run once more' : '';
  if (b.requests.length === 1) {
    settle(c, b.requests[0]!, 'failed', `its tests fail: ${b.failing.join(', ') || 'the build'} (merged as ${b.commit}${again})`);
    return;
  }
  const half = Math.ceil(b.requests.length / 2);
  for (const [i, ids] of [b.requests.slice(0, half), b.requests.slice(half)].entries()) {
    c.counts.order += 1;
    for (const id of ids) {
      requeue(c, id, `${b.id} failed (${b.failing.join(', ')}); tested again in a half of it`);
      Object.assign(c.request(id), { group: `${b.id}.${i + 1}`, order: c.counts.order, known: [...b.failing] });
    }
  }
}

/** The batch now at the head, if its verdict came in while it waited, goes on. */
function advance(c: Changes, project: string | null, target: string): void {
  const [head] = chainOf(c, project, target);
  if (!head || head.state !== 'waiting') return;
  const b = c.batch(head.id);
  if (b.verdict === 'passed') passed(c, b);
  else failedRun(c, b);
}

export function built(view: GateView, rules: GateRules, now: string, batchId: string, build: BatchBuild): Step {
  const c = new Changes(view, rules, now);
  const batch = view.batches.get(batchId);
  if (!batch || batch.state !== 'testing' || batch.commit !== build.commit || build.status === 'cancelled' || build.status === 'skipped') return c.result();
  const b = c.batch(batchId);
  recordVerdict(c, b, build);
  const green = build.status === 'passed';
  if (b.kind === 'try') {
    const state = green ? 'passed' : build.status === 'failed' ? 'failed' : 'error';
    const verdict = green ? `passed (${b.commit}); a try does not land` : build.status === 'failed' ? `fails its tests (${b.commit})` : `could not be tested (${b.commit})`;
    for (const id of b.requests) settle(c, id, state, `the merge of it into ${b.target} ${verdict}`);
    endBatch(c, b);
    return c.result();
  }
  if (b.retry === 'running' && build.run < 2) return c.result();
  if (b.retry === 'running') b.retry = green ? 'passed' : 'failed';
  if (green) {
    // A pass when the failing jobs ran again: the failure was a flaky one.
    if (build.flaky || b.retry === 'passed') for (const id of b.requests) c.request(id).flaky = true;
    passed(c, b);
  } else {
    b.failing = build.failing;
    if (b.retry === 'failed') confirmed(c, b);
    else failedRun(c, b);
  }
  schedule(c, b.project, b.target);
  return c.result();
}

export interface Landed {
  ok: boolean;
  code: 'target-moved' | 'branch-moved' | null;
  message: string;
  /** Requests whose branch moved after they were merged. */
  moved: string[];
}

export function landed(view: GateView, rules: GateRules, now: string, batchId: string, result: Landed): Step {
  const c = new Changes(view, rules, now);
  const batch = view.batches.get(batchId);
  if (!batch || batch.state !== 'landing') return c.result();
  const b = c.batch(batchId);
  if (result.ok) {
    for (const id of b.requests) {
      c.request(id).landedAs = b.commit;
      settle(c, id, 'landed', `landed on ${b.target} as ${b.commit}${c.request(id).flaky ? ' (a job passed only when run again)' : ''}`);
    }
    endBatch(c, b);
    advance(c, b.project, b.target);
  } else if (result.code === 'target-moved' && b.attempt <= rules.maxRemerge) {
    dropBehind(c, b, 'was merged again');
    Object.assign(b, { state: 'merging', attempt: b.attempt + 1, onto: null, base: null, commit: null, retry: 'none', verdict: null });
    for (const id of b.requests) c.request(id).state = 'merging';
    c.actions.push({ kind: 'merge', batch: b });
  } else {
    endBatch(c, b);
    dropBehind(c, b, 'did not land');
    if (result.code === 'branch-moved') {
      for (const id of b.requests) {
        requeue(c, id, result.moved.includes(id) ? `${c.request(id).branch} moved after it was tested; queued again with its new head` : '');
      }
    } else {
      const why = result.code === 'target-moved'
        ? `${b.target} moved ${b.attempt} times before it could land (--max-remerge ${rules.maxRemerge})`
        : `landing failed: ${result.message}`;
      for (const id of b.requests) settle(c, id, 'error', why);
    }
  }
  schedule(c, b.project, b.target);
  return c.result();
}

/** Cancels a request: its batch is stopped (the others in it queue again, and whatever was stacked on it); a string says why it cannot be. */
export function cancel(view: GateView, rules: GateRules, now: string, id: string, by: string): Step | string {
  const request = view.requests.get(id);
  if (!request) return `no request ${id} is known`;
  if (request.state === 'landing') return `${id} is landing: it is too late to cancel it`;
  if (request.endedAt !== null) return `${id} is already over (${request.state})`;
  const c = new Changes(view, rules, now);
  if (request.batch !== null) {
    const b = c.batch(request.batch);
    if (b.state === 'testing' || b.state === 'waiting') c.actions.push({ kind: 'cancel-build', batch: b });
    endBatch(c, b);
    dropBehind(c, b, 'was cancelled');
    for (const other of b.requests) if (other !== id) requeue(c, other);
  }
  settle(c, id, 'cancelled', `cancelled by ${by}`);
  if (request.kind === 'land') schedule(c, request.project, request.target);
  return c.result();
}

/** After a restart: every target with requests waiting stacks what it can. */
export function resume(view: GateView, rules: GateRules, now: string): Step {
  const c = new Changes(view, rules, now);
  const targets = new Map<string, { project: string | null; target: string }>();
  for (const r of view.requests.values()) if (r.state === 'queued' && r.kind === 'land') targets.set(`${r.project ?? ''}\n${r.target}`, r);
  for (const { project, target } of targets.values()) schedule(c, project, target);
  return c.result();
}
