// The gate's planner as pure functions: a world of requests and batches is
// driven through events (requests, merges, verdicts, landings, cancels) the
// way the shell would, each step's changes applied as the reducer applies a
// `gate` record, and what it asks to do next checked. No git, no sockets.
// Merge commits are numbered: the n-th merge made is sha(n).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as plan from '../../src/dispatcher/gate/plan.js';
import type { Batch, BatchBuild, GateRules, GateView, LandRequest, Step } from '../../src/dispatcher/gate/types.js';

const NOW = '2026-01-01T00:00:00.000Z';
const MAIN = 'refs/heads/main';
const sha = (n: number) => n.toString(16).padStart(40, '0');

/** The gate's state, changed step by step as the journal would change it. */
class Gate {
  readonly requests = new Map<string, LandRequest>();
  readonly batches = new Map<string, Batch>();
  counts = { requests: 0, batches: 0, order: 0 };
  /** What the last step asked for, as "kind batch" (or "settled L-n"). */
  actions: string[] = [];
  private merges = 0;

  constructor(readonly rules: GateRules = { batchSize: 8, maxRemerge: 5, depth: 4 }) {}

  get view(): GateView {
    return { requests: this.requests, batches: this.batches, counts: this.counts };
  }

  apply(step: Step | string): void {
    assert.equal(typeof step, 'object', `refused: ${step as string}`);
    const s = step as Step;
    for (const r of s.requests) this.requests.set(r.id, structuredClone(r));
    for (const b of s.batches) this.batches.set(b.id, structuredClone(b));
    this.counts = s.counts;
    this.actions = s.actions.map((a) => {
      if (a.kind === 'settled') return `settled ${a.request.id} ${a.request.state}`;
      if (a.kind === 'retry') return `retry ${a.batch.id} ${a.jobs.join(',')}`;
      return `${a.kind} ${a.batch.id}`;
    });
  }

  land(branch: string, options: { priority?: number; kind?: 'land' | 'try'; head?: string; target?: string } = {}): string {
    this.apply(plan.request(this.view, this.rules, NOW, {
      kind: options.kind ?? 'land', project: null, branch: `refs/heads/${branch}`, target: options.target ?? MAIN,
      head: options.head ?? sha(1000 + this.counts.requests), priority: options.priority ?? 0, squash: false, by: 'alice',
    }));
    return `${options.kind === 'try' ? 'T' : 'L'}-${this.counts.requests}`;
  }

  /** The merge of a batch was made (onto base `base`); returns its commit. */
  merged(batch: string, options: { base?: string; heads?: Record<string, string> } = {}): string {
    this.merges += 1;
    const commit = sha(this.merges);
    const heads = Object.entries(options.heads ?? {}).map(([request, head]) => ({ request, commit: head }));
    this.apply(plan.merged(this.view, this.rules, NOW, batch, {
      ok: true, message: 'merged', commit, base: options.base ?? sha(999), heads, repo: '/srv/app.git', conflict: null,
    }));
    return commit;
  }

  conflict(batch: string, request: string, files: string[]): void {
    this.apply(plan.merged(this.view, this.rules, NOW, batch, {
      ok: false, message: 'conflict', commit: null, base: sha(999), heads: [], repo: '/srv/app.git', conflict: { request, files },
    }));
  }

  built(batch: string, status: BatchBuild['status'], options: { run?: number; flaky?: boolean; failing?: string[] } = {}): void {
    const commit = this.batches.get(batch)!.commit!;
    this.apply(plan.built(this.view, this.rules, NOW, batch, {
      commit, status, flaky: options.flaky ?? false, run: options.run ?? 1, failing: options.failing ?? (status === 'passed' ? [] : ['unit']),
    }));
  }

  landed(batch: string, result: Partial<plan.Landed> = {}): void {
    this.apply(plan.landed(this.view, this.rules, NOW, batch, { ok: true, code: null, message: 'landed', moved: [], ...result }));
  }

  state(id: string): string {
    return this.requests.get(id)!.state;
  }

  batchOf(id: string): string {
    return this.requests.get(id)!.batch!;
  }

  /** The requests of a batch. */
  of(batch: string): string[] {
    return this.batches.get(batch)!.requests;
  }

  /** Lands the batch at the head: merged (if it is not yet), passed, landed. */
  landHead(batch: string): void {
    if (this.batches.get(batch)!.state === 'merging') this.merged(batch);
    if (this.batches.get(batch)!.state === 'testing') this.built(batch, 'passed');
    this.landed(batch);
  }
}

test('a lone request is merged onto the tip at once, tested, and lands on exactly the tested commit', () => {
  const g = new Gate();
  const a = g.land('a');
  assert.deepEqual(g.actions, ['merge B-1']);
  assert.equal(g.batches.get('B-1')!.base, null, 'onto the target\'s tip');
  const commit = g.merged('B-1', { base: sha(500) });
  assert.deepEqual(g.actions, ['test B-1']);
  assert.equal(g.state(a), 'testing');
  assert.deepEqual(g.requests.get(a)!.builds, [{ batch: 'B-1', commit, base: sha(500), status: 'queued' }]);
  g.built('B-1', 'passed');
  assert.deepEqual(g.actions, ['land B-1']);
  assert.equal(g.state(a), 'landing');
  g.landed('B-1');
  assert.deepEqual(g.actions, [`settled ${a} landed`]);
  assert.equal(g.requests.get(a)!.landedAs, commit);
  assert.equal(g.requests.get(a)!.builds[0]!.status, 'passed');
  assert.equal(g.batches.get('B-1')!.state, 'done');
});

test('requests that arrive while a batch is under way are stacked on its merge once it is made, and land in turn', () => {
  const g = new Gate();
  g.land('first');
  const second = g.land('second');
  const third = g.land('third');
  assert.deepEqual(g.actions, [], 'nothing is stacked on a merge not made yet');
  const first = g.merged('B-1');
  assert.deepEqual(g.actions, ['test B-1', 'merge B-2']);
  assert.deepEqual(g.of('B-2'), [second, third]);
  assert.deepEqual([g.batches.get('B-2')!.onto, g.batches.get('B-2')!.base], ['B-1', first]);
  g.merged('B-2', { base: first });
  g.built('B-2', 'passed');
  assert.deepEqual(g.actions, [], 'B-2 passed but waits for B-1, on whose merge it stands');
  assert.equal(g.batches.get('B-2')!.state, 'waiting');
  g.built('B-1', 'passed');
  g.landed('B-1');
  assert.deepEqual(g.actions, ['settled L-1 landed', 'land B-2'], 'B-1 landed: B-2 is at the head, and lands');
  g.landed('B-2');
  assert.deepEqual([second, third].map((id) => g.state(id)), ['landed', 'landed']);
});

test('batches take the queue in priority order, at most --batch requests, at most `depth` stacked', () => {
  const g = new Gate({ batchSize: 2, maxRemerge: 5, depth: 3 });
  g.land('first');
  const low = g.land('low');
  const urgent = g.land('urgent', { priority: 10 });
  const mid = g.land('mid', { priority: 5 });
  const x = g.land('x');
  const y = g.land('y');
  g.merged('B-1');
  assert.deepEqual(g.of('B-2'), [urgent, mid]);
  g.merged('B-2');
  assert.deepEqual(g.of('B-3'), [low, x]);
  g.merged('B-3');
  assert.deepEqual(g.actions, ['test B-3'], 'three under way: the rest waits');
  assert.equal(g.state(y), 'queued');
  g.landHead('B-1');
  assert.deepEqual(g.of('B-4'), [y]);
  assert.equal(g.batches.get('B-4')!.onto, 'B-3');
});

test('--batch 1 puts each request in a batch of its own', () => {
  const g = new Gate({ batchSize: 1, maxRemerge: 5, depth: 4 });
  g.land('a');
  const b = g.land('b');
  const c = g.land('c');
  g.merged('B-1');
  assert.deepEqual(g.of('B-2'), [b]);
  g.merged('B-2');
  assert.deepEqual(g.of('B-3'), [c]);
});

test('targets have queues of their own', () => {
  const g = new Gate();
  g.land('a');
  g.land('b', { target: 'refs/heads/release' });
  assert.deepEqual(g.actions, ['merge B-2'], 'the release queue does not wait for main\'s batch');
});

test('a conflict ends that request with the files named; the others of its batch queue again and go on', () => {
  const g = new Gate();
  g.land('hold');
  const a = g.land('a');
  const bad = g.land('bad');
  const c = g.land('c');
  g.merged('B-1');
  assert.deepEqual(g.of('B-2'), [a, bad, c]);
  g.conflict('B-2', bad, ['src/app.ts', 'README']);
  assert.deepEqual(g.actions, [`settled ${bad} conflict`, 'merge B-3']);
  assert.match(g.requests.get(bad)!.message, /does not merge into refs\/heads\/main and the requests ahead of it: conflict in src\/app\.ts, README/);
  assert.deepEqual(g.of('B-3'), [a, c]);
});

test('a merge that fails for another reason (no push rights) ends its requests as error with the reason', () => {
  const g = new Gate();
  const a = g.land('a');
  g.apply(plan.merged(g.view, g.rules, NOW, 'B-1', {
    ok: false, message: 'cannot push the merge to origin: remote: permission denied', commit: null, base: null, heads: [], repo: '/r', conflict: null,
  }));
  assert.equal(g.state(a), 'error');
  assert.match(g.requests.get(a)!.message, /permission denied/);
});

test('a failure at the head runs the failing jobs once more; a pass then is a flaky failure and the batch lands whole, marked, unsplit', () => {
  const g = new Gate();
  g.land('hold');
  const ids = ['a', 'b'].map((name) => g.land(name));
  g.merged('B-1');
  g.landHead('B-1');
  assert.deepEqual(g.of('B-2'), ids);
  g.merged('B-2');
  g.built('B-2', 'failed', { failing: ['unit', 'lint'] });
  assert.deepEqual(g.actions, ['retry B-2 unit,lint']);
  g.built('B-2', 'passed', { run: 2 });
  assert.deepEqual(g.actions, ['land B-2']);
  g.landed('B-2');
  for (const id of ids) {
    assert.equal(g.state(id), 'landed');
    assert.equal(g.requests.get(id)!.flaky, true);
    assert.match(g.requests.get(id)!.message, /passed only when run again/);
  }
  assert.equal(g.batches.size, 2, 'no halves were made');
});

test('a build that passed with a job passing only on its own retry lands marked flaky', () => {
  const g = new Gate();
  const a = g.land('a');
  g.merged('B-1');
  g.built('B-1', 'passed', { flaky: true });
  g.landed('B-1');
  assert.equal(g.requests.get(a)!.flaky, true);
});

test('a confirmed failure of four, one red: the batch behind goes first without it, the halves queue at the back, and the three green land', () => {
  const g = new Gate();
  g.land('hold');
  const ids = ['a', 'b', 'red', 'c'].map((name) => g.land(name));
  g.merged('B-1');
  assert.deepEqual(g.of('B-2'), ids);
  g.merged('B-2');
  const behind = g.land('behind');
  assert.deepEqual(g.actions, ['merge B-3'], 'stacked on B-2');
  g.merged('B-3');
  g.built('B-3', 'failed');
  g.built('B-2', 'failed');
  assert.deepEqual(g.actions, [], 'B-2 failed, but B-1 ahead of it is not decided yet: it waits');
  g.landHead('B-1');
  assert.deepEqual(g.actions, ['settled L-1 landed', 'retry B-2 unit'], 'B-2 is at the head: its failing jobs run once more');
  g.built('B-2', 'failed', { run: 2 });
  assert.deepEqual(g.actions, ['cancel-build B-3', 'merge B-4'], 'B-3 held B-2\'s merge: it is dropped, and its request goes first');
  assert.deepEqual(g.of('B-4'), [behind]);
  for (const id of ids) assert.equal(g.state(id), 'queued');
  assert.deepEqual(ids.map((id) => g.requests.get(id)!.group), ['B-2.1', 'B-2.1', 'B-2.2', 'B-2.2']);
  g.merged('B-4');
  assert.deepEqual(g.of('B-5'), ids.slice(0, 2), 'the first half, stacked behind');
  g.merged('B-5');
  assert.deepEqual(g.of('B-6'), ids.slice(2), 'the second half, stacked on the first: both tested at once');
  g.merged('B-6');
  g.built('B-6', 'failed');
  g.built('B-5', 'passed');
  g.built('B-4', 'passed');
  g.landed('B-4');
  assert.deepEqual(g.actions, [`settled ${behind} landed`, 'land B-5']);
  g.landed('B-5');
  assert.deepEqual(g.actions, ['settled L-2 landed', 'settled L-3 landed', 'merge B-7'],
    'B-6 at the head failed the jobs its parent failed for sure: no second run, split into B-7 (red) and then c');
  assert.deepEqual(g.of('B-7'), [ids[2]]);
  g.merged('B-7');
  assert.deepEqual(g.of('B-8'), [ids[3]]);
  g.merged('B-8');
  g.built('B-8', 'failed');
  g.built('B-7', 'failed');
  assert.deepEqual(g.actions, ['cancel-build B-8', `settled ${ids[2]} failed`, 'merge B-9']);
  assert.match(g.requests.get(ids[2]!)!.message, /its tests fail: unit \(merged as [0-9a-f]{40}\)/);
  g.landHead('B-9');
  assert.deepEqual(ids.map((id) => g.state(id)), ['landed', 'landed', 'failed', 'landed']);
  assert.deepEqual(g.requests.get(ids[2]!)!.builds.map((b) => b.batch), ['B-2', 'B-6', 'B-7'], 'every merge it was tested in');
});

test('a half failing other jobs than the batch it came from runs them once more', () => {
  const g = new Gate();
  g.land('hold');
  ['a', 'b'].map((name) => g.land(name));
  g.merged('B-1');
  g.landHead('B-1');
  g.merged('B-2');
  g.built('B-2', 'failed', { failing: ['unit'] });
  g.built('B-2', 'failed', { run: 2, failing: ['unit'] });
  g.merged('B-3');
  g.built('B-3', 'failed', { failing: ['lint'] });
  assert.deepEqual(g.actions, ['retry B-3 lint']);
});

test('the target moved before landing: merged again onto the new tip and tested again, up to --max-remerge; what was stacked queues again', () => {
  const g = new Gate({ batchSize: 1, maxRemerge: 2, depth: 4 });
  const a = g.land('a');
  const b = g.land('b');
  for (let attempt = 1; attempt <= 3; attempt += 1) {
    assert.equal(g.batches.get('B-1')!.attempt, attempt);
    g.merged('B-1', { base: sha(600 + attempt) });
    g.built('B-1', 'passed');
    g.landed('B-1', { ok: false, code: 'target-moved', message: 'main moved' });
    if (attempt < 3) assert.deepEqual(g.actions.filter((x) => x.startsWith('merge')), ['merge B-1']);
  }
  assert.equal(g.state(a), 'error');
  assert.match(g.requests.get(a)!.message, /moved 3 times before it could land \(--max-remerge 2\)/);
  assert.equal(g.requests.get(a)!.builds.length, 3, 'each merge tested is on record');
  assert.match(g.requests.get(b)!.message, /queued again: B-1 ahead of it/);
});

test('a branch that moved after it was merged queues again with its new head; one that moved while queued is tested at its new head', () => {
  const g = new Gate();
  const a = g.land('a', { head: sha(700) });
  g.merged('B-1', { heads: { [a]: sha(700) } });
  g.built('B-1', 'passed');
  g.landed('B-1', { ok: false, code: 'branch-moved', message: 'moved', moved: [a] });
  assert.equal(g.state(a), 'merging', 'queued again, and as the queue is free, merged again at once');
  assert.match(g.requests.get(a)!.message, /moved after it was tested/);
  g.merged('B-2', { heads: { [a]: sha(701) } });
  assert.equal(g.requests.get(a)!.head, sha(701));
  assert.match(g.requests.get(a)!.message, /moved to 0+2bd while it waited; testing that/);
});

test('cancel: a queued request leaves the queue; one under test stops its batch and what is stacked on it; one landing or over cannot be', () => {
  const g = new Gate({ batchSize: 1, maxRemerge: 5, depth: 4 });
  const hold = g.land('hold');
  const queued = g.land('queued');
  g.apply(plan.cancel(g.view, g.rules, NOW, queued, 'bob'));
  assert.deepEqual(g.actions, [`settled ${queued} cancelled`]);
  assert.match(g.requests.get(queued)!.message, /cancelled by bob/);

  const x = g.land('x');
  const y = g.land('y');
  g.merged('B-1');
  g.merged('B-2');
  g.merged('B-3');
  assert.deepEqual([g.of('B-2'), g.of('B-3')], [[x], [y]]);
  g.apply(plan.cancel(g.view, g.rules, NOW, x, 'bob'));
  assert.deepEqual(g.actions, ['cancel-build B-2', 'cancel-build B-3', `settled ${x} cancelled`, 'merge B-4']);
  assert.deepEqual(g.of('B-4'), [y], 'y, stacked on x, is merged again without it');

  g.built('B-1', 'passed');
  assert.match(plan.cancel(g.view, g.rules, NOW, hold, 'bob') as string, /landing: it is too late/);
  g.landed('B-1');
  assert.match(plan.cancel(g.view, g.rules, NOW, hold, 'bob') as string, /already over \(landed\)/);
  assert.match(plan.cancel(g.view, g.rules, NOW, 'L-99', 'bob') as string, /no request L-99/);
});

test('a try is merged at once, never waits for the queue, and a pass is only reported', () => {
  const g = new Gate();
  g.land('hold');
  const tried = g.land('wip', { kind: 'try' });
  assert.deepEqual(g.actions, ['merge B-2'], 'not behind B-1');
  assert.equal(g.batches.get('B-2')!.onto, null);
  g.merged('B-2');
  g.built('B-2', 'passed');
  assert.deepEqual(g.actions, [`settled ${tried} passed`]);
  assert.equal(g.requests.get(tried)!.landedAs, null);
  const red = g.land('red', { kind: 'try' });
  g.merged('B-3');
  g.built('B-3', 'failed');
  assert.deepEqual(g.actions, [`settled ${red} failed`], 'a try is not retried or split');
});

test('a cancelled or skipped build, or a verdict for another commit, decides nothing', () => {
  const g = new Gate();
  const a = g.land('a');
  const commit = g.merged('B-1');
  for (const status of ['cancelled', 'skipped'] as const) {
    g.built('B-1', status);
    assert.deepEqual(g.actions, []);
  }
  g.apply(plan.built(g.view, g.rules, NOW, 'B-1', { commit: sha(12345), status: 'passed', flaky: false, run: 1, failing: [] }));
  assert.deepEqual(g.actions, []);
  assert.equal(g.state(a), 'testing');
  assert.equal(g.batches.get('B-1')!.commit, commit);
});

test('resume stacks the queue of every target with requests waiting', () => {
  const g = new Gate();
  g.land('a');
  g.land('b', { target: 'refs/heads/release' });
  // As if the batches had ended without the next being started (a restart in between).
  for (const batch of g.batches.values()) batch.state = 'done';
  for (const request of g.requests.values()) Object.assign(request, { state: 'queued', batch: null });
  g.apply(plan.resume(g.view, g.rules, NOW));
  assert.deepEqual(g.actions, ['merge B-3', 'merge B-4']);
});
