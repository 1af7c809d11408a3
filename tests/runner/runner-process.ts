// Runs src/runner/main.ts as a real child process (through tsx, so no build
// is needed), collects its stderr lines, and kills it when the test ends.
import type { TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { kill, spawnWatched, type Proc } from '../helpers/processes.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const MAIN = fileURLToPath(new URL('../../src/runner/main.ts', import.meta.url));

export type RunnerProcess = Proc;

export type StartRunner = (args: string[]) => Proc;

/**
 * Returns a starter whose processes are all killed when the test ends, pass
 * or fail. Call it before making temp folders: after-hooks run in the order
 * they were added, and a process still working in a folder spoils its removal.
 */
export function runners(t: TestContext): StartRunner {
  const started: Proc[] = [];
  t.after(async () => {
    await Promise.all(started.map(kill));
  });
  return (args) => {
    const proc = spawnWatched(['--import', 'tsx', MAIN, ...args], { cwd: ROOT });
    started.push(proc);
    return proc;
  };
}
