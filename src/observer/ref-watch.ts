// Instant detection for an origin on this machine: watch its refs and ask for
// a scan the moment one changes, instead of waiting for the next poll.
//
//   <gitdir>/refs  recursively: loose refs, written as `<ref>.lock` and then
//                  renamed to `<ref>`, so the rename is the moment to act;
//   <gitdir>       itself, not recursively: `packed-refs`, which `git gc` and
//                  `git pack-refs` rewrite and where deleted refs vanish from.
//
// A burst of events (a push of ten branches) becomes one scan after a few
// milliseconds of quiet. A watcher that fails is closed and armed again with
// backoff; polling goes on meanwhile, so a lost event costs one interval at
// worst, never a commit.

import { watch, type FSWatcher } from 'node:fs';
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
      this.watchers.push(this.open(join(gitDir, 'refs'), true, (name) => !name.endsWith('.lock')));
      this.watchers.push(this.open(gitDir, false, (name) => name === 'packed-refs'));
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

  private open(path: string, recursive: boolean, matters: (name: string) => boolean): FSWatcher {
    const watcher = watch(path, { recursive, persistent: false }, (_event, name) => {
      // No name means the platform could not say which entry: assume it mattered.
      if (name === null || matters(name.toString())) this.changed();
    });
    watcher.on('error', (error) => this.failed(`watching ${path} failed: ${error.message}`));
    return watcher;
  }

  private changed(): void {
    if (this.debounce || this.stopped) return;
    this.debounce = setTimeout(() => {
      this.debounce = null;
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
  }
}
