// The gate's planner as pure functions: a world of requests and batches is
// driven through events (requests, merges, verdicts, landings, cancels) the
// way the shell would, each step's changes applied as the reducer applies a
// `gate` record, and what it asks to do next checked. No git, no sockets.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as plan from '../../src/dispatcher/gate/plan.js';
import type { Batch, BatchBuild, LandRequest } from '../../src/dispatcher/gate/types.js';

const NOW = '2026-01-01T00:00:00.000Z';
const MAIN = 'refs/heads/main';
const sha = (n: number) => n.toString(16).padStart(40, '0');

/** The gate's state, changed step by step as the journal would change it. */
class Gate {
  readonly requests = new Map<string, LandRequest>();
  readonly batches = new Map<string, Batch>();
  counts = { requests: 0, batches: 0 };
  /** What the last step asked for, as "kind batch" (or "settled L-n"). */
  actions: string[] = [];
  private merges = 0;

  constructor(readonly rules: plan.GateRules = { batchSize: 8, maxRemerge: 5 }) {}

  get view(): plan.GateView {
    return { requests: this.requests, batches: this.batches, counts: this.counts };
  }

  apply(step: plan.Step | string): void {
    assert.equal(typeof step, 'object', `refused: ${step as string}`);
    const s = step as plan.Step;
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
}

test('a lone request is merged at once, tested, and lands on exactly the tested commit', () => {
  const g = new Gate();
  const a = g.land('a');
  assert.deepEqual(g.actions, ['merge B-1']);
  assert.equal(g.state(a), 'merging');
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

test('requests that arrive while a batch is under way wait, then go together in priority order, at most --batch of them', () => {
  const g = new Gate({ batchSize: 3, maxRemerge: 5 });
  const first = g.land('first');
  const low = g.land('low');
  const urgent = g.land('urgent', { priority: 10 });
  const mid = g.land('mid', { priority: 5 });
  const last = g.land('last');
  assert.deepEqual(g.actions, [], 'nothing starts while B-1 is under way');
  for (const id of [low, urgent, mid, last]) assert.equal(g.state(id), 'queued');
  g.merged('B-1');
  g.built('B-1', 'passed');
  g.landed('B-1');
  assert.deepEqual(g.actions, [`settled ${first} landed`, 'merge B-2']);
  assert.deepEqual(g.batches.get('B-2')!.requests, [urgent, mid, low], 'priority, then arrival; three at most');
  assert.equal(g.state(last), 'queued');
});

test('--batch 1 lands one request at a time', () => {
  const g = new Gate({ batchSize: 1, maxRemerge: 5 });
  g.land('a');
  const b = g.land('b');
  g.merged('B-1');
  g.built('B-1', 'passed');
  g.landed('B-1');
  assert.deepEqual(g.batches.get('B-2')!.requests, [b]);
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
  g.built('B-1', 'passed');
  g.landed('B-1');
  assert.deepEqual(g.batches.get('B-2')!.requests, [a, bad, c]);
  g.conflict('B-2', bad, ['src/app.ts', 'README']);
  assert.deepEqual(g.actions, [`settled ${bad} conflict`, 'merge B-3']);
  assert.match(g.requests.get(bad)!.message, /conflict in src\/app\.ts, README/);
  assert.deepEqual(g.batches.get('B-3')!.requests, [a, c]);
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

test('a failed batch runs its failing jobs again and tests both halves at once; a half that passes waits for the confirmation, then lands', () => {
  const g = new Gate();
  g.land('hold');
  const ids = ['a', 'b', 'red', 'c'].map((name) => g.land(name));
  g.merged('B-1');
  g.built('B-1', 'passed');
  g.landed('B-1');
  g.merged('B-2');
  g.built('B-2', 'failed', { failing: ['unit', 'lint'] });
  assert.deepEqual(g.actions, ['retry B-2 unit,lint', 'merge B-3', 'merge B-4']);
  assert.deepEqual(g.batches.get('B-3')!.requests, ids.slice(0, 2));
  assert.deepEqual(g.batches.get('B-4')!.requests, ids.slice(2));
  g.merged('B-3');
  g.merged('B-4');
  g.built('B-3', 'passed');
  assert.deepEqual(g.actions, [], 'the green half waits: were B-2 only flaky, B-2 would land whole');
  assert.equal(g.batches.get('B-3')!.state, 'waiting');
  g.built('B-4', 'failed');
  assert.deepEqual(g.actions, ['retry B-4 unit', 'merge B-5', 'merge B-6']);
  g.built('B-2', 'failed', { run: 2 });
  assert.deepEqual(g.actions, ['land B-3'], 'the failure is confirmed: the green half lands');
  g.landed('B-3');
  g.merged('B-5');
  g.merged('B-6');
  g.built('B-6', 'passed');
  assert.deepEqual(g.actions, []);
  g.built('B-5', 'failed');
  assert.deepEqual(g.actions, ['retry B-5 unit'], 'a single request is retried, not split');
  g.built('B-4', 'failed', { run: 2 });
  assert.deepEqual(g.actions, ['land B-6']);
  g.landed('B-6');
  g.built('B-5', 'failed', { run: 2 });
  assert.deepEqual(g.actions, [`settled ${ids[2]} failed`]);
  assert.deepEqual(ids.map((id) => g.state(id)), ['landed', 'landed', 'failed', 'landed']);
  assert.deepEqual(g.requests.get(ids[2]!)!.builds.map((b) => b.batch), ['B-2', 'B-4', 'B-5'], 'every merge it was tested in');
});

test('a failure that passes when run again is flaky: the halves are cancelled and the batch lands whole, marked', () => {
  const g = new Gate();
  g.land('hold');
  const ids = ['a', 'b'].map((name) => g.land(name));
  g.merged('B-1');
  g.built('B-1', 'passed');
  g.landed('B-1');
  const commit = g.merged('B-2');
  g.built('B-2', 'failed');
  g.merged('B-3');
  g.built('B-2', 'passed', { run: 2 });
  assert.deepEqual(g.actions, ['cancel-build B-3', 'land B-2']);
  assert.equal(g.batches.get('B-3')!.state, 'done');
  assert.equal(g.batches.get('B-4')!.state, 'done', 'the half still merging is dropped too');
  g.landed('B-2');
  for (const id of ids) {
    assert.equal(g.state(id), 'landed');
    assert.equal(g.requests.get(id)!.flaky, true);
    assert.equal(g.requests.get(id)!.landedAs, commit);
  }
  // A late answer for a dropped half changes nothing.
  g.merged('B-4');
  assert.deepEqual(g.actions, []);
});

test('a build that passed with a job passing only on its retry lands marked flaky', () => {
  const g = new Gate();
  const a = g.land('a');
  g.merged('B-1');
  g.built('B-1', 'passed', { flaky: true });
  g.landed('B-1');
  assert.equal(g.requests.get(a)!.flaky, true);
  assert.match(g.requests.get(a)!.message, /passed only when run again/);
});

test('a lone request whose failure is being confirmed does not hold up the queue', () => {
  const g = new Gate();
  const red = g.land('red');
  const next = g.land('next');
  g.merged('B-1');
  g.built('B-1', 'failed');
  assert.deepEqual(g.actions, ['retry B-1 unit', 'merge B-2']);
  assert.equal(g.batchOf(next), 'B-2');
  g.built('B-1', 'failed', { run: 2 });
  assert.equal(g.state(red), 'failed');
});

test('the target moved before landing: merged again onto the new tip and tested again, up to --max-remerge', () => {
  const g = new Gate({ batchSize: 8, maxRemerge: 2 });
  const a = g.land('a');
  for (let attempt = 1; attempt <= 3; attempt += 1) {
    assert.equal(g.batches.get('B-1')!.attempt, attempt);
    g.merged('B-1', { base: sha(600 + attempt) });
    g.built('B-1', 'passed');
    g.landed('B-1', { ok: false, code: 'target-moved', message: 'main moved' });
    if (attempt < 3) assert.deepEqual(g.actions, ['merge B-1']);
  }
  assert.equal(g.state(a), 'error');
  assert.match(g.requests.get(a)!.message, /moved 3 times before it could land \(--max-remerge 2\)/);
  assert.equal(g.requests.get(a)!.builds.length, 3, 'each merge tested is on record');
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

test('cancel: a queued request leaves the queue; one under test stops its batch and the others queue again; one landing cannot be', () => {
  const g = new Gate();
  const hold = g.land('hold');
  const queued = g.land('queued');
  g.apply(plan.cancel(g.view, g.rules, NOW, queued, 'bob'));
  assert.deepEqual(g.actions, [`settled ${queued} cancelled`]);
  assert.match(g.requests.get(queued)!.message, /cancelled by bob/);

  g.merged('B-1');
  g.built('B-1', 'passed');
  assert.match(plan.cancel(g.view, g.rules, NOW, hold, 'bob') as string, /landing: it is too late/);
  g.landed('B-1');
  assert.match(plan.cancel(g.view, g.rules, NOW, hold, 'bob') as string, /already over \(landed\)/);
  assert.match(plan.cancel(g.view, g.rules, NOW, 'L-99', 'bob') as string, /no request L-99/);

  const x = g.land('x');
  const y = g.land('y');
  g.apply(plan.cancel(g.view, g.rules, NOW, y, 'bob'));
  g.merged('B-2');
  const z = g.land('z');
  g.apply(plan.cancel(g.view, g.rules, NOW, x, 'bob'));
  assert.deepEqual(g.actions, ['cancel-build B-2', `settled ${x} cancelled`, 'merge B-3']);
  assert.deepEqual(g.batches.get('B-3')!.requests, [z]);
});

test('cancel inside a split stops the whole tree it belongs to', () => {
  const g = new Gate();
  const ids = ['a', 'b', 'c', 'd'].map((name) => g.land(name));
  void ids;
  g.apply(plan.cancel(g.view, g.rules, NOW, 'L-1', 'bob'));
  g.merged('B-2');
  assert.deepEqual(g.batches.get('B-2')!.requests, ['L-2', 'L-3', 'L-4']);
  g.built('B-2', 'failed');
  g.merged('B-3');
  g.apply(plan.cancel(g.view, g.rules, NOW, 'L-4', 'bob'));
  assert.deepEqual(g.actions, ['cancel-build B-2', 'cancel-build B-3', 'settled L-4 cancelled', 'merge B-5']);
  for (const id of ['B-2', 'B-3', 'B-4']) assert.equal(g.batches.get(id)!.state, 'done');
  assert.deepEqual(g.batches.get('B-5')!.requests, ['L-2', 'L-3']);
});

test('a try is merged at once, never waits for the queue, and a pass is only reported', () => {
  const g = new Gate();
  g.land('hold');
  const tried = g.land('wip', { kind: 'try' });
  assert.deepEqual(g.actions, ['merge B-2'], 'not behind B-1');
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

test('resume starts the next batch of every target with requests waiting and nothing under way', () => {
  const g = new Gate();
  g.land('a');
  g.land('b', { target: 'refs/heads/release' });
  // As if the batches had ended without the next being started (a restart in between).
  for (const batch of g.batches.values()) batch.state = 'done';
  for (const request of g.requests.values()) Object.assign(request, { state: 'queued', batch: null });
  g.apply(plan.resume(g.view, g.rules, NOW));
  assert.deepEqual(g.actions, ['merge B-3', 'merge B-4']);
});
