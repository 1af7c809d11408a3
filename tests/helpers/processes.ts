// Spawns Keel's built entry points (dist/) as real child processes, collects
// their stderr lines, and kills them when the test ends, pass or fail.
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import type { TestContext } from 'node:test';
import { stopAtEnd } from './temp.js';

const DIST = fileURLToPath(new URL('../../dist/', import.meta.url));

export interface Proc {
  child: ChildProcess;
  /** stdout and stderr, line by line, in the order they arrived. */
  lines: string[];
  /** Everything the process wrote to stdout so far. */
  stdout(): string;
  /** Everything the process wrote to stderr so far. */
  stderr(): string;
  /** Resolves with the first output line (already seen or to come) matching `pattern`; rejects if the process exits first. */
  waitForLine(pattern: RegExp, timeoutMs?: number): Promise<RegExpExecArray>;
  /** How many output lines so far match `pattern`. */
  count(pattern: RegExp): number;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts `node ...argv` with its stdout and stderr collected line by line. */
export function spawnWatched(argv: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Proc {
  const child = spawn(process.execPath, argv, {
    cwd: options.cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NODE_DEBUG: '', ...options.env },
  });
  const what = argv.find((arg) => /\.(ts|js)$/.test(arg)) ?? argv[0];
  const lines: string[] = [];
  let out = '';
  let err = '';
  child.stdout!.on('data', (chunk) => (out += chunk));
  child.stderr!.on('data', (chunk) => (err += chunk));
  const listeners = new Set<() => void>();
  const wake = () => {
    for (const listener of [...listeners]) listener();
  };
  const onLine = (line: string) => {
    lines.push(line);
    wake();
  };
  createInterface({ input: child.stderr! }).on('line', onLine);
  createInterface({ input: child.stdout! }).on('line', onLine);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('close', (code, signal) => {
      resolve({ code, signal });
      wake();
    });
  });
  const waitForLine = (pattern: RegExp, timeoutMs = 30_000) => new Promise<RegExpExecArray>((resolve, reject) => {
    const check = () => {
      for (const line of lines) {
        const match = pattern.exec(line);
        if (match) return finish(() => resolve(match));
      }
      if (child.exitCode !== null || child.signalCode !== null) {
        finish(() => reject(new Error(`${what} exited before printing ${pattern}:\n${lines.join('\n')}`)));
      }
    };
    const timer = setTimeout(() => finish(() => reject(new Error(`${what} did not print ${pattern} within ${timeoutMs} ms:\n${lines.join('\n')}`))), timeoutMs);
    const finish = (settle: () => void) => {
      clearTimeout(timer);
      listeners.delete(check);
      settle();
    };
    listeners.add(check);
    check();
  });
  const count = (pattern: RegExp) => lines.filter((line) => pattern.test(line)).length;
  return { child, lines, stdout: () => out, stderr: () => err, waitForLine, count, exited };
}

/** SIGKILLs the process if it is still running, and waits for it. */
export async function kill(proc: Proc): Promise<void> {
  if (proc.child.exitCode === null && proc.child.signalCode === null) proc.child.kill('SIGKILL');
  await proc.exited;
}

/**
 * A starter for `node --import tsx <main>` (no build needed) whose processes
 * are all killed when the test ends, pass or fail, before its temp folders go.
 */
export function tsxStarter(t: TestContext, main: string, cwd: string): (args: string[]) => Proc {
  return (args) => {
    const proc = spawnWatched(['--import', 'tsx', main, ...args], { cwd });
    stopAtEnd(t, () => kill(proc));
    return proc;
  };
}

/** Starts a built entry point (e.g. `runner/main.js`); it is killed when the test ends, pass or fail. */
export function spawnKeel(t: TestContext, entry: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Proc {
  const proc = spawnWatched([`${DIST}${entry}`, ...args], options);
  stopAtEnd(t, () => kill(proc));
  return proc;
}

/** Starts a dispatcher on a free port (with its own state folder unless `extra` names one) and returns it with its port. */
export async function startDispatcherProcess(t: TestContext, results: string, extra: string[] = []): Promise<Proc & { port: number }> {
  const state = extra.includes('--state') ? [] : ['--state', `${results}-state`];
  const proc = spawnKeel(t, 'dispatcher/main.js', ['--port', '0', '--results', results, ...state, ...extra]);
  const match = await proc.waitForLine(/listening on [^ ]*:(\d+);/);
  return { ...proc, port: Number(match[1]) };
}

/** Runs a command to completion and returns its exit code and output; `env` is laid over this process's environment. */
export function runKeel(entry: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const env = options.env ? { ...process.env, ...options.env } : undefined;
    const child = spawn(process.execPath, [`${DIST}${entry}`, ...args], { cwd: options.cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/**
 * True when nothing runs any more as `pid` or, for a negative `pid`, in
 * process group `-pid`. Zombies count as gone: where PID 1 is not an init
 * that reaps orphans, a killed process can linger as one for a long time.
 */
export function gone(pid: number): boolean {
  const running = (stat: string, wanted: (pid: number, group: number) => boolean): boolean => {
    // Fields after the command name, which may itself contain spaces and parentheses.
    const [state, , group] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const own = Number(stat.slice(0, stat.indexOf(' ')));
    return state !== 'Z' && wanted(own, Number(group));
  };
  const read = (path: string) => {
    try {
      return readFileSync(path, 'utf8');
    } catch {
      return null;
    }
  };
  if (pid > 0) {
    const stat = read(`/proc/${pid}/stat`);
    return stat === null || !running(stat, () => true);
  }
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = read(`/proc/${entry}/stat`);
    if (stat !== null && running(stat, (_, group) => group === -pid)) return false;
  }
  return true;
}

/** SIGKILLs the whole process group `pid` belongs to (a test script's `$$` may not lead its group). */
export function killGroupOf(pid: number): void {
  const stat = (() => {
    try {
      return readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
      return null;
    }
  })();
  const group = stat === null ? pid : Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
  for (const target of [-group, pid]) {
    try {
      process.kill(target, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}
