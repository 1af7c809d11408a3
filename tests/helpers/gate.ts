// The gate's end-to-end world: a central repository whose main holds one
// test script steered by files a branch adds (RED fails, BLOCK waits for the
// release file, FLAKY fails the first run of each commit), branches made in
// the working copy and pushed, hooks on the central repository that hold a
// push until the test lets it go, and what git says about main afterwards.
import type { TestContext } from 'node:test';
import { commitFiles, git } from './git-repo.js';
import { world, type Dispatcher, type Observer, type World } from './e2e.js';
import { holdPushes, type PushHold } from './push-hold.js';

export interface GateWorld extends World {
  d: Dispatcher;
  /** The observer of the clone, watching main. */
  watcher: Observer;
  /** main's first commit, holding the test script. */
  base: string;
  /** Makes branch `name` from origin's main (or `from`) with `files`, pushes it; returns its head. */
  branch(name: string, files: Record<string, string>, from?: string): string;
  /** Commits `files` onto origin's main and pushes it (someone else pushing); returns the new tip. */
  moveMain(files: Record<string, string>): string;
  /** Where a ref of the central repository points, or null. */
  refOf(ref: string): string | null;
  /** The commits of main's first-parent history that record request `id`. */
  landingsOf(id: string): string[];
  /**
   * Queues `names` so they are batched together: a green request (`hold`)
   * is queued first and its merge's push held until the others are queued,
   * so they all wait for one batch, stacked on hold's. Returns their ids.
   */
  together(names: string[]): Promise<string[]>;
  /** Makes pushes of refs matching `pattern` wait (after they are done, with `after`) until released. */
  holdPushes(pattern: string, options?: { after?: boolean }): PushHold;
}

const CHECK = (control: string) => [
  '#!/bin/sh',
  `echo $$ >> '${control}/pids'`,
  `echo "$KEEL_COMMIT" >> '${control}/runs-check'`,
  `if [ -e BLOCK ]; then echo $$ > '${control}/started-block'; while [ ! -e '${control}/release' ]; do sleep 0.05; done; fi`,
  `if [ -e FLAKY ] && [ ! -e '${control}/flaky-'"$KEEL_COMMIT" ]; then touch '${control}/flaky-'"$KEEL_COMMIT"; echo flaky; exit 1; fi`,
  'if [ -e RED ]; then echo red; exit 1; fi',
  'echo green',
  '',
].join('\n');

export async function gateWorld(t: TestContext, options: { dispatcherFlags?: string[]; slots?: number; runners?: number } = {}): Promise<GateWorld> {
  const w = world(t);
  const base = w.push({ 'tests/check.sh': CHECK(w.control), 'README': 'one\ntwo\nthree\n' }, 'the test script');
  w.cloneFor();
  const d = await w.dispatcher({ extra: options.dispatcherFlags ?? [] });
  for (let i = 1; i <= (options.runners ?? 1); i += 1) await w.runner(`r${i}`, d, { slots: options.slots ?? 4 });
  // Watching main only: a branch's own pushes are not built, so what runs is what the gate asked for.
  const watcher = w.observer(d, { extra: ['--branch', 'main'] });
  await watcher.delivered(base);
  const refOf = (ref: string): string | null => {
    try {
      return git(w.central, 'rev-parse', '--verify', '--quiet', ref);
    } catch {
      return null;
    }
  };
  const g: GateWorld = {
    ...w, d, watcher, base, refOf,
    branch(name, files, from = 'origin/main') {
      git(w.work, 'fetch', '-q', 'origin');
      git(w.work, 'checkout', '-q', '-B', name, from);
      const head = commitFiles(w.work, files, `${name}: ${Object.keys(files).join(', ')}`);
      git(w.work, 'push', '-q', '-f', 'origin', `HEAD:refs/heads/${name}`);
      return head;
    },
    moveMain(files) {
      git(w.work, 'fetch', '-q', 'origin');
      git(w.work, 'checkout', '-q', '-B', 'main', 'origin/main');
      const tip = commitFiles(w.work, files, `someone else: ${Object.keys(files).join(', ')}`);
      git(w.work, 'push', '-q', 'origin', 'HEAD:refs/heads/main');
      return tip;
    },
    landingsOf(id) {
      const log = git(w.central, 'log', '--first-parent', '--format=%H %(trailers:key=Keel-Request,valueonly,separator=%x2C)', 'main');
      return log.split('\n').filter((line) => line.split(' ')[1]?.split(',').includes(id)).map((line) => line.split(' ')[0]!);
    },
    async together(names) {
      g.branch('hold', { 'hold.txt': 'hold\n' });
      const pushes = g.holdPushes('refs/keel/land/*');
      const landed = await d.keel('land', 'hold');
      if (landed.code !== 0) throw new Error(landed.stderr);
      await pushes.held();
      const ids: string[] = [];
      for (const name of names) {
        const queued = await d.keel('land', name);
        if (queued.code !== 0) throw new Error(queued.stderr);
        ids.push(/^(L-\d+)/.exec(queued.stdout)![1]!);
      }
      pushes.release();
      return ids;
    },
    holdPushes: (pattern, options) => holdPushes(w.central, w.control, w.until, pattern, options),
  };
  return g;
}
