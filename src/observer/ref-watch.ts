// Instant detection for an origin on this machine: watch its refs and ask for
// a scan the moment one changes, instead of waiting for the next poll.
//
//   <gitdir>/refs  every folder in it: loose refs, written as `<ref>.lock`
//                  and then renamed to `<ref>`, so the rename is the moment
//                  to act. One plain watch per folder, added as folders
//                  appear, rather than `recursive: true`: Node 20 on Linux
//                  emulates that by watching each file, and loses a ref once
//                  git renames a new file over it (the second push is missed);
//   <gitdir>       itself, not recursively: `packed-refs`, which `git gc` and
//                  `git pack-refs` rewrite and where deleted refs vanish from.
//
// A burst of events (a push of ten branches) becomes one scan after a few
// milliseconds of quiet. A watcher that fails is closed and armed again with
// backoff; polling goes on meanwhile, so a lost event costs one interval at
// worst, never a commit.

import { readdirSync, watch, type FSWatcher } from 'node:fs';
import { join } from 'node:path';
import { backoffDelay } from '../common/backoff.js';
import type { Log } from '../common/log.js';

export interface RefWatchOptions {
  gitDir: string;
  /** Called after a change, once per burst. */
  onChange: () => void;
  log: Log;
  debounceMs?: number;
}

const DEBOUNCE_MS = 5;
const REARM_BACKOFF = { baseMs: 500, capMs: 30_000 };

export class RefWatcher {
  private watchers: FSWatcher[] = [];
  /** Folder under refs/ → its watch; kept in step with the tree after every change. */
  private readonly folders = new Map<string, FSWatcher>();
  private debounce: NodeJS.Timeout | null = null;
  private rearm: NodeJS.Timeout | null = null;
  private failures = 0;
  private stopped = false;

  constructor(private readonly options: RefWatchOptions) {}

  /** Starts watching; true when both watchers are armed. */
  start(): boolean {
    this.stopped = false;
    return this.arm();
  }

  stop(): void {
    this.stopped = true;
    if (this.debounce) clearTimeout(this.debounce);
    if (this.rearm) clearTimeout(this.rearm);
    this.debounce = this.rearm = null;
    this.closeWatchers();
  }

  private arm(): boolean {
    this.rearm = null;
    if (this.stopped) return false;
    const { gitDir } = this.options;
    try {
      this.watchers.push(this.open(join(gitDir, 'refs'), (name) => !name.endsWith('.lock'), true));
      this.watchers.push(this.open(gitDir, (name) => name === 'packed-refs', true));
      this.watchFolders();
    } catch (error) {
      this.failed(`cannot watch ${gitDir}: ${(error as Error).message}`);
      return false;
    }
    if (this.failures > 0) {
      this.options.log(`watching ${gitDir} for pushes again`);
      // Whatever changed while nothing was watching is found by one scan now.
      this.changed();
    }
    this.failures = 0;
    return true;
  }

  /** A watch of one folder; `vital` ones failing means re-arming everything. */
  private open(path: string, matters: (name: string) => boolean, vital: boolean): FSWatcher {
    const watcher = watch(path, { persistent: false }, (_event, name) => {
      // No name means the platform could not say which entry: assume it mattered.
      if (name === null || matters(name.toString())) this.changed();
    });
    watcher.on('error', (error) => {
      if (vital) return this.failed(`watching ${path} failed: ${error.message}`);
      // A folder under refs/ that went away (git prunes empty ones): forget it.
      watcher.close();
      this.folders.delete(path);
    });
    return watcher;
  }

  /** Watches every folder under refs/ not watched yet, and drops the ones gone. */
  private watchFolders(): void {
    const refs = join(this.options.gitDir, 'refs');
    const present = new Set<string>();
    const walk = (dir: string) => {
      let entries;
      try {
        entries = readdirSync(dir, { withFileTypes: true });
      } catch {
        return; // removed meanwhile; the next change walks again
      }
      for (const entry of entries) {
        if (!entry.isDirectory()) continue;
        const path = join(dir, entry.name);
        present.add(path);
        if (!this.folders.has(path)) {
          try {
            this.folders.set(path, this.open(path, (name) => !name.endsWith('.lock'), false));
          } catch {
            continue;
          }
        }
        walk(path);
      }
    };
    walk(refs);
    for (const [path, watcher] of this.folders) {
      if (!present.has(path)) {
        watcher.close();
        this.folders.delete(path);
      }
    }
  }

  private changed(): void {
    if (this.debounce || this.stopped) return;
    this.debounce = setTimeout(() => {
      this.debounce = null;
      // A new branch folder (refs/heads/team/) is watched before the scan, which
      // finds whatever was already written into it.
      this.watchFolders();
      this.options.onChange();
    }, this.options.debounceMs ?? DEBOUNCE_MS);
  }

  private failed(message: string): void {
    this.closeWatchers();
    if (this.stopped || this.rearm) return;
    // One line per outage; polling carries on meanwhile.
    if (this.failures === 0) this.options.log(`${message}; relying on polling and trying again`);
    const delay = backoffDelay(this.failures, REARM_BACKOFF);
    this.failures += 1;
    this.rearm = setTimeout(() => this.arm(), delay);
  }

  private closeWatchers(): void {
    for (const watcher of this.watchers.splice(0)) watcher.close();
    for (const watcher of this.folders.values()) watcher.close();
    this.folders.clear();
  }
}
