import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';

interface Cleanup {
  stops: Array<() => unknown>;
  dirs: string[];
}

const cleanups = new WeakMap<TestContext, Cleanup>();

/**
 * One after-hook per test that first stops the test's processes and then
 * removes its folders: a process still writing into a folder would make its
 * removal fail, whatever order the test made them in.
 */
function cleanupOf(t: TestContext): Cleanup {
  let cleanup = cleanups.get(t);
  if (!cleanup) {
    const created: Cleanup = { stops: [], dirs: [] };
    cleanup = created;
    cleanups.set(t, created);
    t.after(async () => {
      await Promise.all(created.stops.map((stop) => stop()));
      for (const dir of created.dirs) rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
    });
  }
  return cleanup;
}

/** Runs `stop` when the test ends, before its temp folders are removed. */
export function stopAtEnd(t: TestContext, stop: () => unknown): void {
  cleanupOf(t).stops.push(stop);
}

/** A fresh temp folder removed when the test ends. */
export function tempDir(t: TestContext, prefix = 'keel-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  cleanupOf(t).dirs.push(dir);
  return dir;
}

/** Polls `check` until it returns a truthy value or the deadline passes. */
export async function waitFor<T>(check: () => T | Promise<T>, what: string, timeoutMs = 30_000): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
