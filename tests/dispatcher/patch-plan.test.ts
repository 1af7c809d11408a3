// The patches' planner as pure functions: patches driven through events the
// way the shell would, each step's changes applied as the reducer applies a
// `patch` record, and what it asks to do next checked. No git, no sockets.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as plan from '../../src/dispatcher/patches/plan.js';
import type { PatchEntry, PatchRules, PatchView, Step } from '../../src/dispatcher/patches/types.js';
import type { BuildStatus } from '../../src/protocol/records.js';
import type { PatchApplication } from '../../src/protocol/patch-records.js';

const NOW = '2026-01-01T00:00:00.000Z';
const sha = (n: number) => String(n).padStart(40, '0');
const TRUNK = 'refs/heads/main';

class Patches {
  readonly patches = new Map<string, PatchEntry>();
  counts = { patches: 0 };
  actions: string[] = [];
  private made = 0;

  constructor(readonly rules: PatchRules = { maxRetests: 8 }) {}

  get view(): PatchView {
    return { patches: this.patches, counts: this.counts };
  }

  apply(step: Step | string): void {
    assert.equal(typeof step, 'object', `refused: ${step as string}`);
    const s = step as Step;
    for (const p of s.patches) this.patches.set(p.id, structuredClone(p));
    this.counts = s.counts;
    this.actions = s.actions.map((a) => {
      if (a.kind === 'apply') return `apply ${a.patch} ${a.version}.${a.n}`;
      if (a.kind === 'test') return `test ${a.commit.slice(-3)}${a.background ? ' (background)' : ''}`;
      if (a.kind === 'cancel-build') return `cancel ${a.commit.slice(-3)}`;
      return `range ${a.from.slice(-3)}..${a.to.slice(-3)}`;
    });
  }

  submit(options: { into?: string; version?: number; base?: number; trunk?: string | null; subject?: string } = {}): string {
    this.apply(plan.submit(this.view, this.rules, NOW, {
      project: null, subject: options.subject ?? 'Fix it', author: 'Ann <ann@example.org>', by: 'submitter mail', trunk: options.trunk === undefined ? TRUNK : options.trunk,
      version: {
        version: options.version ?? 1, format: 'mbox', parts: 1, cover: false, bytes: 100, sha256: 'ab'.repeat(32), files: ['src/a.c', 'tests/a.t'],
        baseSpec: null, base: sha(options.base ?? 100), by: 'submitter mail', submittedAt: NOW,
      },
    }, options.into ?? null));
    return options.into ?? `P-${this.counts.patches}`;
  }

  /** The application `n` of the latest version was made; returns its commit (and the tests-alone one, with `tests`). */
  applied(id: string, n: number, options: { tests?: boolean; conflict?: boolean } = {}): string {
    this.made += 1;
    const commit = sha(this.made * 10);
    const version = this.patches.get(id)!.versions.at(-1)!.version;
    this.apply(plan.applied(this.view, this.rules, NOW, id, version, n, options.conflict
      ? { ok: false, applied: null, testsOnly: null, conflict: { message: 'patch failed: src/a.c:3', files: ['src/a.c'] }, message: 'conflict', repo: '/srv/a.git' }
      : { ok: true, applied: commit, testsOnly: options.tests ? sha(this.made * 10 + 1) : null, conflict: null, message: 'applied', repo: '/srv/a.git' }));
    return commit;
  }

  built(id: string, commit: string, status: BuildStatus): void {
    this.apply(plan.built(this.view, this.rules, NOW, id, commit, status, status === 'passed' ? '' : 'tests: exited with code 1'));
  }

  app(id: string, n: number): PatchApplication {
    return this.patches.get(id)!.versions.at(-1)!.applications.find((a) => a.n === n)!;
  }

  /** Applies and builds application `n` to `status`. */
  decide(id: string, n: number, status: BuildStatus | 'conflict'): void {
    if (status === 'conflict') return void this.applied(id, n, { conflict: true });
    this.built(id, this.applied(id, n), status);
  }
}

test('a patch is applied onto its base and tested; its state follows the latest application', () => {
  const p = new Patches();
  const id = p.submit();
  assert.deepEqual(p.actions, ['apply P-1 1.1']);
  assert.equal(p.patches.get(id)!.state, 'open');
  const commit = p.applied(id, 1);
  assert.deepEqual(p.actions, ['test 010']);
  assert.equal(p.app(id, 1).fix, 'n/a', 'no tests alone: nothing to verify');
  p.built(id, commit, 'passed');
  assert.equal(p.patches.get(id)!.state, 'passed');
  assert.equal(p.app(id, 1).state, 'passed');
  p.decide(p.submit(), 1, 'conflict');
  assert.equal(p.patches.get('P-2')!.state, 'conflict');
  assert.match(p.patches.get('P-2')!.message, /does not apply: patch failed: src\/a\.c:3 \(src\/a\.c\)/);
});

const fixCases: Array<[BuildStatus, BuildStatus, string]> = [
  ['passed', 'failed', 'verified'],
  ['passed', 'passed', 'tests-pass-without-fix'],
  ['failed', 'failed', 'n/a'],
  ['failed', 'passed', 'tests-pass-without-fix'],
];
for (const [whole, alone, fix] of fixCases) {
  test(`does the fix fix it: the whole ${whole}, the tests alone ${alone} → ${fix}`, () => {
    const p = new Patches();
    const id = p.submit();
    const commit = p.applied(id, 1, { tests: true });
    assert.deepEqual(p.actions, ['test 010', 'test 011']);
    p.built(id, sha(11), alone);
    assert.equal(p.app(id, 1).state, 'testing', 'it waits for both builds');
    p.built(id, commit, whole);
    assert.equal(p.app(id, 1).fix, fix);
    assert.equal(p.app(id, 1).state, whole);
  });
}

test('the trunk moves: open patches following it wait to be retested on the new tip, at most --max-retests at once, a newer tip replacing an older', () => {
  const p = new Patches({ maxRetests: 1 });
  const ids = [p.submit(), p.submit(), p.submit({ trunk: null })];
  for (const id of ids) p.decide(id, 1, 'passed');
  p.apply(plan.trunkMoved(p.view, p.rules, NOW, null, TRUNK, sha(200)));
  assert.deepEqual(p.actions, ['apply P-1 1.2'], 'one at a time; P-3 follows no trunk');
  assert.equal(p.patches.get('P-2')!.pendingRetest, sha(200));
  assert.equal(p.patches.get('P-3')!.pendingRetest, null);
  p.apply(plan.trunkMoved(p.view, p.rules, NOW, null, TRUNK, sha(201)));
  assert.equal(p.patches.get('P-2')!.pendingRetest, sha(201), 'the newer tip replaces the one it waited for');
  assert.equal(p.patches.get('P-1')!.pendingRetest, sha(201), 'and the one under way is followed by one more');
  const commit = p.applied('P-1', 2);
  assert.deepEqual(p.actions, [`test ${commit.slice(-3)} (background)`], 'a retest waits behind ordinary builds');
  p.built('P-1', commit, 'passed');
  assert.deepEqual(p.actions, ['apply P-1 1.3'], 'the slot goes to the oldest patch waiting');
  assert.equal(p.app('P-1', 3).onto, sha(201));
  p.apply(plan.trunkMoved(p.view, p.rules, NOW, 'other-project', TRUNK, sha(300)));
  assert.deepEqual(p.actions, [], 'another project\'s trunk is not this one');
});

test('broken by trunk: passed on an older trunk, fails on a newer one; the trunk commits between are halved down to the first that breaks it', () => {
  const p = new Patches();
  const id = p.submit();
  p.decide(id, 1, 'passed');
  p.apply(plan.trunkMoved(p.view, p.rules, NOW, null, TRUNK, sha(900)));
  p.decide(id, 2, 'failed');
  assert.deepEqual(p.actions, ['range 100..900']);
  assert.deepEqual({ ...p.patches.get(id)!.brokenBy!, at: 0 }, { good: sha(100), bad: sha(900), at: 0, first: null, left: 0, message: 'narrowing down the trunk commit that broke it' });
  const trunk = [sha(501), sha(502), sha(503), sha(504), sha(900)];
  p.apply(plan.ranged(p.view, p.rules, NOW, id, trunk, 'listed'));
  assert.deepEqual(p.actions, ['apply P-1 1.3']);
  assert.equal(p.app(id, 3).onto, sha(502), 'halfway between the last good and the first bad');
  assert.equal(p.patches.get(id)!.brokenBy!.left, 4);
  p.decide(id, 3, 'passed');
  assert.equal(p.app(id, 4).onto, sha(503));
  assert.equal(p.patches.get(id)!.brokenBy!.left, 2);
  p.decide(id, 4, 'failed');
  const broken = p.patches.get(id)!.brokenBy!;
  assert.equal(broken.first, sha(503));
  assert.equal(broken.message, `fails from trunk commit ${sha(503)} on`);
  assert.equal(p.patches.get(id)!.state, 'failed', 'narrowing steps do not decide its state');
  assert.equal(p.patches.get(id)!.bisect, null);
  // Mended by trunk: a pass on a newer tip clears it.
  p.apply(plan.trunkMoved(p.view, p.rules, NOW, null, TRUNK, sha(950)));
  p.decide(id, 5, 'passed');
  assert.equal(p.patches.get(id)!.brokenBy, null);
});

test('a patch that stops applying: a trunk commit where it applies but fails counts as before the break', () => {
  const p = new Patches();
  const id = p.submit();
  p.decide(id, 1, 'failed');
  p.apply(plan.trunkMoved(p.view, p.rules, NOW, null, TRUNK, sha(900)));
  p.decide(id, 2, 'conflict');
  assert.deepEqual(p.actions, ['range 100..900'], 'it applied on the old trunk (its tests failed), and no longer does');
  p.apply(plan.ranged(p.view, p.rules, NOW, id, [sha(801), sha(900)], 'listed'));
  assert.equal(p.app(id, 3).onto, sha(801));
  p.decide(id, 3, 'failed');
  assert.equal(p.patches.get(id)!.brokenBy!.first, sha(900));
  assert.match(p.patches.get(id)!.brokenBy!.message, /does not apply from trunk commit/);
});

test('one trunk commit in between is the answer at once; a range that cannot be listed says why', () => {
  const p = new Patches();
  const [a, b] = [p.submit(), p.submit()];
  for (const id of [a, b]) p.decide(id, 1, 'passed');
  p.apply(plan.trunkMoved(p.view, p.rules, NOW, null, TRUNK, sha(900)));
  p.decide(a, 2, 'failed');
  p.decide(b, 2, 'failed');
  p.apply(plan.ranged(p.view, p.rules, NOW, a, [sha(900)], 'listed'));
  assert.equal(p.patches.get(a)!.brokenBy!.first, sha(900));
  p.apply(plan.ranged(p.view, p.rules, NOW, b, null, 'fatal: bad revision'));
  assert.match(p.patches.get(b)!.brokenBy!.message, /could not list the trunk commits in between: fatal: bad revision/);
  assert.equal(p.patches.get(b)!.bisect, null);
});

test('a new version stops what the old one had under way; close cancels builds; retest of a closed patch is refused', () => {
  const p = new Patches();
  const id = p.submit();
  const commit = p.applied(id, 1);
  p.submit({ into: id, version: 2 });
  assert.deepEqual(p.actions, ['cancel 010', 'apply P-1 2.1']);
  assert.equal(p.patches.get(id)!.versions[0]!.applications[0]!.state, 'cancelled');
  p.built(id, commit, 'passed');
  assert.equal(p.patches.get(id)!.state, 'open', 'a late verdict of the old version decides nothing');
  const next = p.applied(id, 1);
  p.apply(plan.close(p.view, p.rules, NOW, id, 'submitter mail'));
  assert.deepEqual(p.actions, [`cancel ${next.slice(-3)}`]);
  assert.equal(p.patches.get(id)!.state, 'closed');
  assert.match(plan.retest(p.view, p.rules, NOW, id, sha(5)) as string, /P-1 is closed/);
  assert.match(plan.close(p.view, p.rules, NOW, id, 'x') as string, /already closed/);
  assert.match(plan.close(p.view, p.rules, NOW, 'P-9', 'x') as string, /no patch P-9/);
  p.apply(plan.trunkMoved(p.view, p.rules, NOW, null, TRUNK, sha(300)));
  assert.equal(p.patches.get(id)!.pendingRetest, null, 'a closed patch is not retested');
});

test('flags are kept sorted and once each, and unflag removes one', () => {
  const p = new Patches();
  const id = p.submit();
  for (const flag of ['ready-for-checkin', 'needs-docs', 'ready-for-checkin']) p.apply(plan.flag(p.view, p.rules, NOW, id, flag, true));
  assert.deepEqual(p.patches.get(id)!.flags, ['needs-docs', 'ready-for-checkin']);
  p.apply(plan.flag(p.view, p.rules, NOW, id, 'needs-docs', false));
  assert.deepEqual(p.patches.get(id)!.flags, ['ready-for-checkin']);
});

test('resume starts retests that were waiting for a slot', () => {
  const p = new Patches({ maxRetests: 1 });
  const id = p.submit();
  p.decide(id, 1, 'passed');
  p.patches.get(id)!.pendingRetest = sha(400);
  p.apply(plan.resume(p.view, p.rules, NOW));
  assert.deepEqual(p.actions, ['apply P-1 1.2']);
});
