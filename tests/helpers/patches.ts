// The patches' end-to-end world: a central repository whose main runs every
// tests/*.t script (a patch's own tests among them; BLOCK waits for the
// release file), series made with git format-patch from topic branches of
// the working copy that are never pushed, trunk moves, and `keel patch`
// pointed at the world's dispatcher.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import type { PatchRecord } from '../../src/protocol/patch-records.js';
import { commitFiles, git } from './git-repo.js';
import { world, type Dispatcher, type Observer, type World } from './e2e.js';

export interface PatchWorld extends World {
  d: Dispatcher;
  watcher: Observer;
  /** main's first commit. */
  base: string;
  /**
   * Makes a series on a topic branch off `from` (default origin/main), one
   * commit per change, and writes it with git format-patch (a cover letter
   * when `cover` is given, with `basedOn` as a Based-on: line); returns the
   * mbox's path.
   */
  series(name: string, changes: Array<Record<string, string>>, options?: { from?: string; cover?: string; version?: number; basedOn?: string }): string;
  moveMain(files: Record<string, string>): string;
  /** `keel patch show ID --json`. */
  show(id: string): Promise<PatchRecord>;
  /** Waits until `check` holds for the patch's record. */
  waitPatch(id: string, check: (record: PatchRecord) => boolean, what: string): Promise<PatchRecord>;
}

/** Runs every tests/*.t; a BLOCK file makes it wait for the release file first. */
const RUN = (control: string) => [
  '#!/bin/sh',
  `echo $$ >> '${control}/pids'`,
  `echo "$KEEL_COMMIT" >> '${control}/runs-check'`,
  `if [ -e BLOCK ]; then echo $$ > '${control}/started-block'; while [ ! -e '${control}/release' ]; do sleep 0.05; done; fi`,
  'for t in tests/*.t; do [ -e "$t" ] || continue; sh "$t" || { echo "$t failed"; exit 1; }; done',
  'echo green',
  '',
].join('\n');

export async function patchWorld(t: TestContext, options: { dispatcherFlags?: string[]; secret?: string } = {}): Promise<PatchWorld> {
  const w = world(t);
  const base = w.push({ 'tests/run.sh': RUN(w.control), 'src.txt': 'one\ntwo\nthree\n', 'lib.txt': 'api v1\n' }, 'the tests');
  w.cloneFor();
  const d = await w.dispatcher({ extra: options.dispatcherFlags ?? [], ...(options.secret ? { secret: options.secret } : {}) });
  const env = options.secret ? { KEEL_TOKEN: options.secret } : undefined;
  await w.runner('r1', d, { slots: 4, ...(env ? { env } : {}) });
  const watcher = w.observer(d, { extra: ['--branch', 'main'], ...(env ? { env } : {}) });
  await watcher.delivered(base);
  let made = 0;
  const p: PatchWorld = {
    ...w, d, watcher, base,
    series(name, changes, { from = 'origin/main', cover, version, basedOn } = {}) {
      git(w.work, 'fetch', '-q', 'origin');
      git(w.work, 'checkout', '-q', '-B', name, from);
      const start = git(w.work, 'rev-parse', 'HEAD');
      for (const [i, files] of changes.entries()) commitFiles(w.work, files, `${name}: change ${i + 1}`);
      made += 1;
      const out = join(w.tmp, `series-${made}.mbox`);
      const args = ['format-patch', '--stdout', ...(cover ? ['--cover-letter'] : []), ...(version ? [`-v${version}`] : []), `${start}..HEAD`];
      let mbox = git(w.work, ...args);
      if (cover) mbox = mbox.replace('*** SUBJECT HERE ***', cover).replace('*** BLURB HERE ***', basedOn ? `A series.\n\nBased-on: ${basedOn}` : 'A series.');
      writeFileSync(out, `${mbox}\n`);
      git(w.work, 'checkout', '-q', '--detach');
      return out;
    },
    moveMain(files) {
      git(w.work, 'fetch', '-q', 'origin');
      git(w.work, 'checkout', '-q', '-B', 'main', 'origin/main');
      const tip = commitFiles(w.work, files, `trunk: ${Object.keys(files).join(', ')}`);
      git(w.work, 'push', '-q', 'origin', 'HEAD:refs/heads/main');
      return tip;
    },
    async show(id) {
      const shown = await d.keel('patch', 'show', id, '--json');
      if (shown.code !== 0) throw new Error(`keel patch show ${id}: ${shown.stdout}${shown.stderr}`);
      return JSON.parse(shown.stdout);
    },
    waitPatch(id, check, what) {
      return w.until(async () => {
        const record = await p.show(id).catch(() => null);
        return record && check(record) ? record : null;
      }, `${id}: ${what}`);
    },
  };
  return p;
}

/** The applications of a patch's latest version. */
export const applications = (record: PatchRecord) => record.versions.at(-1)!.applications;
