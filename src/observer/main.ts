// Keel observer: the repository side.
//
// Every --interval seconds it fetches the clone's origin (or reads the clone
// itself when it has none), finds every commit new on the watched branches
// since its cursor, and reports each to the dispatcher: `hello` (role
// observer) → `welcome`, then one `commit` per new commit, each answered by
// `queued`. It also scans at once when origin is a folder on this machine and
// its refs change (fs.watch), and when the dispatcher sends `scan` (after a
// `keel notify`, e.g. from a post-receive hook); polling is the safety net. Writes one file, <state>/observer-<hash of clone path>.json: the
// last head seen per branch and the commits not yet acknowledged, so a
// restart neither misses nor repeats one. With --notes it writes a git note
// of every finished build (`finished`, answered `heard`) and pushes the notes
// ref to origin, keeping the notes not yet pushed in
// <state>/observer-<hash>-notes.json and its scratch repository in
// <state>/observer-<hash>-work/notes.git. It never exits because the
// dispatcher is away; it waits and retries.

import { mkdir } from 'node:fs/promises';
import { hostname } from 'node:os';
import { formatAddress } from '../common/address.js';
import { runAsEntry } from '../common/entry.js';
import { exitOnConfigError } from '../common/flags.js';
import { createLog } from '../common/log.js';
import { onShutdown } from '../common/shutdown.js';
import { OBSERVER_USAGE, parseObserverConfig, type ObserverConfig } from './config.js';
import { CursorError, readCursor, type Cursor } from './cursor.js';
import { DispatcherLink } from './link.js';
import { NotesWriter } from './notes.js';
import { Observer } from './observer.js';
import { RefWatcher } from './ref-watch.js';

const MAX_HELLO_NAME = 256;

export async function main(argv: string[]): Promise<void> {
  if (argv.includes('--help')) {
    process.stdout.write(`${OBSERVER_USAGE}\n`);
    return;
  }
  let config: ObserverConfig;
  try {
    config = await parseObserverConfig(argv, process.env);
  } catch (error) {
    exitOnConfigError(error);
  }
  const saved = await loadCursor(config);
  const log = createLog('observer');
  const notes = config.notes === null ? null : await NotesWriter.open(config.notes, log).catch((error: Error) => fail(error.message));
  const observer = new Observer(config, saved, log, notes);
  const link = new DispatcherLink({
    dispatcher: config.dispatcher,
    security: config.security,
    name: helloName(config.clone),
    repoUrl: config.repoUrl,
    project: config.project,
    supersede: config.supersede,
    log,
    source: observer,
    // Its secret will not do: like a bad flag, a reason and exit 2, once the cursor is saved.
    onRefused: (reason) => {
      log(`giving up: ${reason}`);
      void observer.stop().finally(() => process.exit(2));
    },
  });
  const branches = config.branches?.join(', ') ?? `all of ${config.hasOrigin ? 'origin' : 'the clone'}`;
  if (config.security.warning) log(`warning: ${config.security.warning}`);
  log(`watching ${config.clone} (branches: ${branches}), reporting to ${formatAddress(config.dispatcher)}`);
  if (!config.hasOrigin) {
    // Said once, at start: a clone without origin is usually a mistake, and otherwise nothing shows it.
    log(`warning: ${config.clone} has no origin, so the observer watches the clone's own branches: only commits made in it or pushed into it are seen, and runners fetch from ${config.repoUrl}. To watch a central repository, git remote add origin URL in the clone`);
  }
  if (saved === null) log(`no cursor at ${config.cursorFile}: first run, reporting the current heads only`);
  else if (saved.pending.length > 0) log(`${saved.pending.length} commit(s) from the last run still to deliver`);
  // Armed before the first scan, so a push during it is not missed.
  const watcher = config.originGitDir === null
    ? null
    : new RefWatcher({ gitDir: config.originGitDir, onChange: () => void observer.scanNow(), log });
  if (watcher?.start()) log(`watching ${config.originGitDir} for pushes`);
  if (config.notes) log(`writing a note of every finished build on ${config.notes.repo.ref} of ${config.notes.repo.remote}`);
  observer.start(link);
  onShutdown(log, async () => {
    watcher?.stop();
    await observer.stop();
  });
}

/** Reads the cursor, or exits 2: a damaged one must not silently restart history. */
async function loadCursor(config: ObserverConfig): Promise<Cursor | null> {
  try {
    await mkdir(config.stateDir, { recursive: true });
  } catch (error) {
    fail(`--state must be a folder the observer can write, got "${config.stateDir}" (${(error as Error).message})`);
  }
  try {
    return await readCursor(config.cursorFile);
  } catch (error) {
    if (error instanceof CursorError) fail(error.message);
    throw error;
  }
}

function fail(message: string): never {
  process.stderr.write(`keel: ${message}\n`);
  process.exit(2);
}

function helloName(clone: string): string {
  const name = `${hostname()}:${clone}`;
  return name.length <= MAX_HELLO_NAME ? name : `…${name.slice(name.length - MAX_HELLO_NAME + 1)}`;
}

runAsEntry(import.meta.url, main);
