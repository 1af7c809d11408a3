// Spawns Keel's built entry points (dist/) as real child processes, collects
// their stderr lines, and kills them when the test ends, pass or fail.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import type { TestContext } from 'node:test';

const DIST = fileURLToPath(new URL('../../dist/', import.meta.url));

export interface Proc {
  child: ChildProcess;
  lines: string[];
  /** Resolves with the first stderr line (already seen or future) matching `pattern`. */
  waitForLine(pattern: RegExp, timeoutMs?: number): Promise<RegExpExecArray>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function spawnKeel(t: TestContext, entry: string, args: string[], options: { cwd?: string } = {}): Proc {
  const child = spawn(process.execPath, [`${DIST}${entry}`, ...args], {
    cwd: options.cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NODE_DEBUG: '' },
  });
  const lines: string[] = [];
  const listeners = new Set<() => void>();
  const onLine = (line: string) => {
    lines.push(line);
    for (const listener of listeners) listener();
  };
  createInterface({ input: child.stderr! }).on('line', onLine);
  createInterface({ input: child.stdout! }).on('line', onLine);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      for (const listener of listeners) listener();
      resolve({ code, signal });
    });
  });
  t.after(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
  });
  const waitForLine = (pattern: RegExp, timeoutMs = 30_000) => new Promise<RegExpExecArray>((resolve, reject) => {
    const check = () => {
      for (const line of lines) {
        const match = pattern.exec(line);
        if (match) return finish(() => resolve(match));
      }
      if (child.exitCode !== null || child.signalCode !== null) {
        finish(() => reject(new Error(`${entry} exited before printing ${pattern}:\n${lines.join('\n')}`)));
      }
    };
    const timer = setTimeout(() => finish(() => reject(new Error(`${entry} did not print ${pattern} within ${timeoutMs} ms:\n${lines.join('\n')}`))), timeoutMs);
    const finish = (settle: () => void) => {
      clearTimeout(timer);
      listeners.delete(check);
      settle();
    };
    listeners.add(check);
    check();
  });
  return { child, lines, waitForLine, exited };
}

/** Starts a dispatcher on a free port and returns it with its port. */
export async function startDispatcherProcess(t: TestContext, results: string, extra: string[] = []): Promise<Proc & { port: number }> {
  const proc = spawnKeel(t, 'dispatcher/main.js', ['--port', '0', '--results', results, ...extra]);
  const match = await proc.waitForLine(/listening on [^ ]*:(\d+);/);
  return { ...proc, port: Number(match[1]) };
}

/** Runs a command to completion and returns its exit code and output. */
export function runKeel(entry: string, args: string[], options: { cwd?: string } = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [`${DIST}${entry}`, ...args], { cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
