// Runs src/runner/main.ts as a real child process (through tsx, so no build
// is needed), collects its stderr lines, and kills it when the test ends.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const MAIN = fileURLToPath(new URL('../../src/runner/main.ts', import.meta.url));

export interface RunnerProcess {
  child: ChildProcess;
  lines: string[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves with the first line (seen or to come) matching `pattern`; rejects if the process exits first. */
  waitForLine(pattern: RegExp, timeoutMs?: number): Promise<string>;
}

export type StartRunner = (args: string[]) => RunnerProcess;

/**
 * Returns a starter whose processes are all killed when the test ends, pass
 * or fail. Call it before making temp folders: after-hooks run in the order
 * they were added, and a runner still working in a folder spoils its removal.
 */
export function runners(t: TestContext): StartRunner {
  const started: RunnerProcess[] = [];
  t.after(async () => {
    await Promise.all(started.map(async ({ child, exited }) => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    }));
  });
  return (args) => {
    const runner = spawnRunner(args);
    started.push(runner);
    return runner;
  };
}

function spawnRunner(args: string[]): RunnerProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NODE_DEBUG: '' },
  });
  const lines: string[] = [];
  const wake = new Set<() => void>();
  const onLine = (line: string) => {
    lines.push(line);
    for (const listener of [...wake]) listener();
  };
  createInterface({ input: child.stderr! }).on('line', onLine);
  createInterface({ input: child.stdout! }).on('line', onLine);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('close', (code, signal) => {
      resolve({ code, signal });
      for (const listener of [...wake]) listener();
    });
  });
  const waitForLine = (pattern: RegExp, timeoutMs = 15_000) => new Promise<string>((resolve, reject) => {
    const check = () => {
      const line = lines.find((l) => pattern.test(l));
      if (line !== undefined) return done(() => resolve(line));
      if (child.exitCode !== null || child.signalCode !== null) {
        done(() => reject(new Error(`runner exited before printing ${pattern}:\n${lines.join('\n')}`)));
      }
    };
    const timer = setTimeout(() => done(() => reject(new Error(`runner did not print ${pattern} within ${timeoutMs} ms:\n${lines.join('\n')}`))), timeoutMs);
    const done = (settle: () => void) => {
      clearTimeout(timer);
      wake.delete(check);
      settle();
    };
    wake.add(check);
    check();
  });
  return { child, lines, exited, waitForLine };
}
