// The gate's decisions as pure functions of plain values: given the requests
// and batches as they are and one event (a request, a merge, a verdict, a
// landing, a cancel), what changes and what to do next. No clock (times are
// passed in), no I/O: the shell records the changes and does the actions.
//
// The rules:
// - One queue per target, by priority, then arrival. When no batch of the
//   target is under way, the first --batch requests are merged together.
//   A single request waiting only for its failure to be confirmed does not
//   hold the queue up.
// - A merge that passes lands: the target moves to exactly the tested
//   commit, if it still points where the merge started. If it moved, the
//   batch is merged again onto the new tip and tested again (at most
//   --max-remerge times). A try that passes is only reported.
// - A batch that fails has its failing jobs run once more on the same
//   commit; meanwhile, if it holds several requests, its halves are merged
//   and tested, both at once. A pass on the retry makes the failure a flaky
//   one: the halves are cancelled and the batch lands, marked flaky. A
//   failure again is confirmed: a single request fails, and the halves go
//   on (a half that passed meanwhile waited for this, and lands now).
// - A merge that conflicts ends that request as `conflict`; the others of
//   its batch go back to the queue. A branch that moved after it was
//   merged restarts its request with the new head.

import type { Batch, BatchBuild, GateCounts, LandRequest } from './types.js';

export interface GateRules {
  /** Requests merged and tested together at most (--batch). */
  batchSize: number;
  /** Merges again after the target moved, before a batch gives up (--max-remerge). */
  maxRemerge: number;
}

export interface GateView {
  requests: ReadonlyMap<string, LandRequest>;
  batches: ReadonlyMap<string, Batch>;
  counts: GateCounts;
}

export type Action =
  | { kind: 'merge'; batch: Batch }
  | { kind: 'test'; batch: Batch }
  | { kind: 'retry'; batch: Batch; jobs: string[] }
  | { kind: 'land'; batch: Batch }
  | { kind: 'cancel-build'; batch: Batch }
  /** A request is over: whoever waits for it hears now. */
  | { kind: 'settled'; request: LandRequest };

export interface Step {
  requests: LandRequest[];
  batches: Batch[];
  counts: GateCounts;
  actions: Action[];
}

/** Collects the changes of one step over a view, copying what it changes. */
class Changes {
  private readonly requests = new Map<string, LandRequest>();
  private readonly batches = new Map<string, Batch>();
  readonly actions: Action[] = [];
  counts: GateCounts;

  constructor(private readonly view: GateView, readonly rules: GateRules, readonly now: string) {
    this.counts = { ...view.counts };
  }

  request(id: string): LandRequest {
    let request = this.requests.get(id);
    if (!request) {
      request = structuredClone(this.view.requests.get(id)!);
      this.requests.set(id, request);
    }
    return request;
  }

  batch(id: string): Batch {
    let batch = this.batches.get(id);
    if (!batch) {
      batch = structuredClone(this.view.batches.get(id)!);
      this.batches.set(id, batch);
    }
    return batch;
  }

  addRequest(request: LandRequest): void {
    this.requests.set(request.id, request);
  }

  newBatch(fields: Pick<Batch, 'kind' | 'project' | 'target' | 'requests' | 'parent'>): Batch {
    this.counts.batches += 1;
    const batch: Batch = {
      ...fields, id: `B-${this.counts.batches}`, state: 'merging', attempt: 1, repo: null, base: null, commit: null,
      retry: 'none', verdict: null, children: [], endedAt: null, pruned: false,
    };
    this.batches.set(batch.id, batch);
    for (const id of batch.requests) Object.assign(this.request(id), { state: 'merging', batch: batch.id });
    this.actions.push({ kind: 'merge', batch });
    return batch;
  }

  /** Every batch and request as this step leaves them. */
  allBatches(): Batch[] {
    const ids = new Set([...this.view.batches.keys(), ...this.batches.keys()]);
    return [...ids].map((id) => this.batches.get(id) ?? this.view.batches.get(id)!);
  }

  allRequests(): LandRequest[] {
    const ids = new Set([...this.view.requests.keys(), ...this.requests.keys()]);
    return [...ids].map((id) => this.requests.get(id) ?? this.view.requests.get(id)!);
  }

  result(): Step {
    return { requests: [...this.requests.values()], batches: [...this.batches.values()], counts: this.counts, actions: this.actions };
  }
}

const byQueueOrder = (a: LandRequest, b: LandRequest) => b.priority - a.priority || a.seq - b.seq;

/** A request is over: why, and whoever waits is told. */
function settle(c: Changes, id: string, state: LandRequest['state'], message: string): void {
  const request = c.request(id);
  Object.assign(request, { state, message, batch: null, endedAt: c.now });
  c.actions.push({ kind: 'settled', request });
}

/** Back to the queue, as it was (a batch it was in ended without deciding it). */
function requeue(c: Changes, id: string, message = ''): void {
  Object.assign(c.request(id), { state: 'queued', batch: null, message });
}

function endBatch(c: Changes, batch: Batch): void {
  batch.state = 'done';
  batch.endedAt = c.now;
}

/** The batch and every batch below it. */
function subtree(c: Changes, id: string): Batch[] {
  const batch = c.batch(id);
  return [batch, ...batch.children.flatMap((child) => subtree(c, child))];
}

/** Starts the next batch of a target when none is under way. */
function schedule(c: Changes, project: string | null, target: string): void {
  const active = c.allBatches().filter((b) => b.kind === 'land' && b.state !== 'done' && b.project === project && b.target === target);
  // A lone request whose failure is being confirmed can land later by merging again; it does not hold the queue.
  const blocking = active.filter((b) => !(b.requests.length === 1 && b.retry === 'running' && b.children.length === 0));
  if (blocking.length > 0) return;
  const queued = c.allRequests()
    .filter((r) => r.kind === 'land' && r.state === 'queued' && r.project === project && r.target === target)
    .sort(byQueueOrder)
    .slice(0, c.rules.batchSize);
  if (queued.length === 0) return;
  c.newBatch({ kind: 'land', project, target, requests: queued.map((r) => r.id), parent: null });
}

export function request(view: GateView, rules: GateRules, now: string, fields: Omit<LandRequest, 'id' | 'seq' | 'state' | 'message' | 'queuedAt' | 'endedAt' | 'flaky' | 'landedAs' | 'builds' | 'batch'>): Step {
  const c = new Changes(view, rules, now);
  c.counts.requests += 1;
  const id = `${fields.kind === 'land' ? 'L' : 'T'}-${c.counts.requests}`;
  c.addRequest({
    ...fields, id, seq: c.counts.requests, state: 'queued', message: '', queuedAt: now, endedAt: null,
    flaky: false, landedAs: null, builds: [], batch: null,
  });
  // A try never waits in the target's queue.
  if (fields.kind === 'try') c.newBatch({ kind: 'try', project: fields.project, target: fields.target, requests: [id], parent: null });
  else schedule(c, fields.project, fields.target);
  return c.result();
}

export interface Merged {
  ok: boolean;
  message: string;
  /** The merge (the last commit of the chain), the tip it was merged onto, and each branch as merged. */
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
    settle(c, failed, 'conflict', `${c.request(failed).branch} does not merge into ${b.target}: conflict in ${files.join(', ') || 'the tree'}`);
    for (const id of b.requests) if (id !== failed) requeue(c, id);
    endBatch(c, b);
  } else if (!result.ok || result.commit === null || result.base === null) {
    for (const id of b.requests) settle(c, id, 'error', `the merge failed: ${result.message}`);
    endBatch(c, b);
  } else {
    Object.assign(b, { state: 'testing', commit: result.commit, base: result.base, repo: result.repo, retry: 'none' });
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
  schedule(c, b.project, b.target);
  return c.result();
}

/** A batch above this one whose failure is still being confirmed: its verdict may make this one moot. */
function ancestorRetrying(c: Changes, b: Batch): boolean {
  for (let parent = b.parent; parent !== null; parent = c.batch(parent).parent) {
    if (c.batch(parent).retry === 'running') return true;
  }
  return false;
}

/** Lands a batch that passed, or reports a try; one under a batch still being confirmed waits. */
function passed(c: Changes, b: Batch): void {
  if (b.kind === 'try') {
    for (const id of b.requests) settle(c, id, 'passed', `the merge of it into ${b.target} passed (${b.commit}); a try does not land`);
    endBatch(c, b);
    return;
  }
  if (ancestorRetrying(c, b)) {
    Object.assign(b, { state: 'waiting', verdict: 'passed' });
    return;
  }
  Object.assign(b, { state: 'landing', verdict: null });
  for (const id of b.requests) c.request(id).state = 'landing';
  c.actions.push({ kind: 'land', batch: b });
}

/** A single request's failure is confirmed: it fails, unless a batch above is still being confirmed. */
function failed(c: Changes, b: Batch): void {
  if (ancestorRetrying(c, b)) {
    Object.assign(b, { state: 'waiting', verdict: 'failed' });
    return;
  }
  for (const id of b.requests) settle(c, id, 'failed', `its tests fail (merged as ${b.commit}, and again when run once more)`);
  endBatch(c, b);
}

/** A failure above is confirmed: what waited below it goes on. */
function release(c: Changes, b: Batch): void {
  for (const below of b.children.flatMap((id) => subtree(c, id))) {
    if (below.state !== 'waiting' || ancestorRetrying(c, below)) continue;
    if (below.verdict === 'passed') passed(c, below);
    else failed(c, below);
  }
}

function recordVerdict(c: Changes, b: Batch, build: BatchBuild): void {
  for (const id of b.requests) {
    const attempt = [...c.request(id).builds].reverse().find((a) => a.batch === b.id && a.commit === build.commit);
    if (attempt) attempt.status = build.status;
  }
}

export function built(view: GateView, rules: GateRules, now: string, batchId: string, build: BatchBuild): Step {
  const c = new Changes(view, rules, now);
  const batch = view.batches.get(batchId);
  if (!batch || batch.state !== 'testing' || batch.commit !== build.commit || build.status === 'cancelled' || build.status === 'skipped') return c.result();
  const b = c.batch(batchId);
  recordVerdict(c, b, build);
  const green = build.status === 'passed';
  if (b.retry === 'running') {
    if (build.run < 2) return c.result();
    b.retry = green ? 'passed' : 'failed';
    if (green) {
      // The failure was a flaky one: the batch lands whole and its halves are not needed.
      for (const child of b.children.flatMap((id) => subtree(c, id))) {
        if (child.state === 'testing') c.actions.push({ kind: 'cancel-build', batch: child });
        if (child.state !== 'done') endBatch(c, child);
      }
      for (const id of b.requests) Object.assign(c.request(id), { batch: b.id, flaky: true, state: 'testing' });
      passed(c, b);
    } else if (b.children.length === 0) {
      failed(c, b);
    } else {
      endBatch(c, b);
      release(c, b);
    }
  } else if (green) {
    if (build.flaky) for (const id of b.requests) c.request(id).flaky = true;
    passed(c, b);
  } else if (b.kind === 'try') {
    const state = build.status === 'failed' ? 'failed' : 'error';
    for (const id of b.requests) settle(c, id, state, `the merge of it into ${b.target} ${build.status === 'failed' ? 'fails its tests' : 'could not be tested'} (${b.commit})`);
    endBatch(c, b);
  } else {
    b.retry = 'running';
    c.actions.push({ kind: 'retry', batch: b, jobs: build.failing });
    if (b.requests.length > 1) {
      const half = Math.ceil(b.requests.length / 2);
      for (const requests of [b.requests.slice(0, half), b.requests.slice(half)]) {
        const child = c.newBatch({ kind: 'land', project: b.project, target: b.target, requests, parent: b.id });
        b.children.push(child.id);
      }
    }
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
  } else if (result.code === 'target-moved' && b.attempt <= rules.maxRemerge) {
    Object.assign(b, { state: 'merging', attempt: b.attempt + 1, base: null, commit: null, retry: 'none' });
    for (const id of b.requests) c.request(id).state = 'merging';
    c.actions.push({ kind: 'merge', batch: b });
  } else if (result.code === 'target-moved') {
    for (const id of b.requests) settle(c, id, 'error', `${b.target} moved ${b.attempt} times before it could land (--max-remerge ${rules.maxRemerge})`);
    endBatch(c, b);
  } else if (result.code === 'branch-moved') {
    for (const id of b.requests) {
      requeue(c, id, result.moved.includes(id) ? `${c.request(id).branch} moved after it was tested; queued again with its new head` : '');
    }
    endBatch(c, b);
  } else {
    for (const id of b.requests) settle(c, id, 'error', `landing failed: ${result.message}`);
    endBatch(c, b);
  }
  schedule(c, b.project, b.target);
  return c.result();
}

/** Cancels a request: its batch is stopped (the others in it queue again); null with why when it cannot be. */
export function cancel(view: GateView, rules: GateRules, now: string, id: string, by: string): Step | string {
  const request = view.requests.get(id);
  if (!request) return `no request ${id} is known`;
  if (request.state === 'landing') return `${id} is landing: it is too late to cancel it`;
  if (request.endedAt !== null) return `${id} is already over (${request.state})`;
  const c = new Changes(view, rules, now);
  if (request.batch !== null) {
    // The outermost batch it belongs to, and everything under it, stop.
    let top = c.batch(request.batch);
    while (top.parent !== null && c.batch(top.parent).state !== 'done') top = c.batch(top.parent);
    for (const batch of subtree(c, top.id)) {
      if (batch.state === 'done') continue;
      if (batch.state === 'testing' || batch.state === 'waiting') c.actions.push({ kind: 'cancel-build', batch });
      endBatch(c, batch);
      for (const other of batch.requests) if (other !== id && c.request(other).endedAt === null) requeue(c, other);
    }
  }
  settle(c, id, 'cancelled', `cancelled by ${by}`);
  schedule(c, request.project, request.target);
  return c.result();
}

/** After a restart: every target with requests waiting and nothing under way starts its next batch. */
export function resume(view: GateView, rules: GateRules, now: string): Step {
  const c = new Changes(view, rules, now);
  const targets = new Map<string, { project: string | null; target: string }>();
  for (const r of view.requests.values()) if (r.state === 'queued') targets.set(`${r.project ?? ''}\n${r.target}`, r);
  for (const { project, target } of targets.values()) schedule(c, project, target);
  return c.result();
}
