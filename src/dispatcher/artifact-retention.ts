// --keep-artifacts DAYS: a build's artifact folders (<sha>.<job>.artifacts
// under the results folder and its project folders) are deleted that long
// after they arrived, at start and then every hour. Reports and JSON stay;
// they still list the files, with the folder gone. Which folders go is a
// pure choice of their names and times; the sweep is the thin effect.

import { readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Log } from '../common/log.js';

const DAY_MS = 86_400_000;
const SWEEP_MS = 3_600_000;
const ARTIFACTS = /^[0-9a-f]{40}(?:[0-9a-f]{24})?\.[A-Za-z0-9._-]+\.artifacts$/;

export interface Entry {
  path: string;
  name: string;
  mtimeMs: number;
}

/** The artifact folders among `entries` older than `days` at `now`; none when `days` is 0. */
export function expired(entries: readonly Entry[], now: number, days: number): string[] {
  if (days === 0) return [];
  return entries.filter((entry) => ARTIFACTS.test(entry.name) && now - entry.mtimeMs > days * DAY_MS).map((entry) => entry.path);
}

/** The folders directly in `dir` and in its project folders (not deeper: patches keep no artifacts of their own yet). */
function listFolders(dir: string): Entry[] {
  const entries: Entry[] = [];
  const scan = (folder: string, depth: number) => {
    let names: string[];
    try {
      names = readdirSync(folder);
    } catch {
      return;
    }
    for (const name of names) {
      const path = join(folder, name);
      let stat;
      try {
        stat = statSync(path);
      } catch {
        continue;
      }
      if (!stat.isDirectory()) continue;
      if (ARTIFACTS.test(name)) entries.push({ path, name, mtimeMs: stat.mtimeMs });
      else if (depth === 0) scan(path, 1);
    }
  };
  scan(dir, 0);
  return entries;
}

/** Deletes the expired artifact folders under `results`; returns how many. */
export function sweep(results: string, days: number, now = Date.now()): number {
  const gone = expired(listFolders(results), now, days);
  for (const path of gone) rmSync(path, { recursive: true, force: true });
  return gone.length;
}

export function startRetention(results: string, days: number, log: Log): { stop(): void } {
  if (days === 0) return { stop() {} };
  const run = () => {
    try {
      const count = sweep(results, days);
      if (count > 0) log(`deleted ${count} artifact folder(s) older than ${days} days (--keep-artifacts)`);
    } catch (error) {
      log(`could not delete old artifacts: ${(error as Error).message}`);
    }
  };
  run();
  const timer = setInterval(run, SWEEP_MS);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
