// Shared plumbing for the benchmarks: temp folders, git with a fixed
// identity, Keel's built processes (dist/) as children, /proc readings and
// small statistics. Nothing here decides what is measured.

import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../', import.meta.url));
const DIST = join(ROOT, 'dist');

const cleanups: Array<() => void | Promise<void>> = [];
const folders: string[] = [];

/** Stops what the figure just measured started, newest first. */
export async function stopProcesses(): Promise<void> {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
}

/**
 * Stops processes, then removes every temp folder. Folders wait until the
 * end: on this kind of ext4 (no journal) each new file is allocated past
 * the inodes deleted in the last minutes, so thousands of files removed
 * between figures would slow down the next figure's file creation.
 */
export async function cleanUp(): Promise<void> {
  await stopProcesses();
  for (const dir of folders.splice(0)) rmSync(dir, { recursive: true, force: true });
}

export function onCleanUp(cleanup: () => void | Promise<void>): void {
  cleanups.push(cleanup);
}

export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `keel-bench-${prefix}-`));
  folders.push(dir);
  return dir;
}

/** A bare central repository on main, a working copy pushing to it, and a folder for the scripts' marks. */
export function makeRepos(name: string): { dir: string; central: string; work: string; marks: string } {
  const dir = tempDir(name);
  const central = join(dir, 'central.git');
  const work = join(dir, 'work');
  const marks = join(dir, 'marks');
  mkdirSync(marks);
  git(dir, 'init', '-q', '--bare', '-b', 'main', central);
  git(dir, 'init', '-q', '-b', 'main', work);
  git(work, 'remote', 'add', 'origin', central);
  return { dir, central, work, marks };
}

export const GIT_ENV: NodeJS.ProcessEnv = {
  ...Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('GIT_'))),
  GIT_AUTHOR_NAME: 'Keel Bench', GIT_AUTHOR_EMAIL: 'bench@keel.invalid',
  GIT_COMMITTER_NAME: 'Keel Bench', GIT_COMMITTER_EMAIL: 'bench@keel.invalid',
  GIT_CONFIG_NOSYSTEM: '1',
};

export function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd, env: GIT_ENV, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

export interface KeelProcess {
  child: ChildProcess;
  pid: number;
  lines: string[];
  waitForLine(pattern: RegExp, timeoutMs?: number): Promise<RegExpExecArray>;
}

/** Starts dist/<entry> with Node; killed by cleanUp(). */
export function startKeel(entry: string, args: string[], nodeFlags: string[] = []): KeelProcess {
  const child = spawn(process.execPath, [...nodeFlags, join(DIST, entry), ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NODE_DEBUG: '' },
  });
  const lines: string[] = [];
  const wake = new Set<() => void>();
  const onLine = (line: string) => {
    // Keep memory flat over thousands of builds: only recent lines matter.
    if (lines.length > 2000) lines.splice(0, 1000);
    lines.push(line);
    for (const listener of wake) listener();
  };
  createInterface({ input: child.stderr! }).on('line', onLine);
  createInterface({ input: child.stdout! }).on('line', onLine);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  cleanups.push(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
  });
  const waitForLine = (pattern: RegExp, timeoutMs = 30_000) => new Promise<RegExpExecArray>((resolve, reject) => {
    const check = () => {
      for (const line of lines) {
        const match = pattern.exec(line);
        if (match) return settle(() => resolve(match));
      }
      if (child.exitCode !== null) settle(() => reject(new Error(`${entry} exited:\n${lines.slice(-20).join('\n')}`)));
    };
    const timer = setTimeout(() => settle(() => reject(new Error(`${entry} did not print ${pattern}:\n${lines.slice(-20).join('\n')}`))), timeoutMs);
    const settle = (done: () => void) => {
      clearTimeout(timer);
      wake.delete(check);
      done();
    };
    wake.add(check);
    check();
  });
  return { child, pid: child.pid!, lines, waitForLine };
}

/** A dispatcher on free ports; `httpPort` is its status page's (null with --http-port off). */
export async function startDispatcher(dir: string, extra: string[] = [], nodeFlags: string[] = []): Promise<KeelProcess & { port: number; httpPort: number | null; results: string }> {
  const results = join(dir, 'results');
  const proc = startKeel('dispatcher/main.js', ['--port', '0', '--results', results, '--state', join(dir, 'state'), ...extra], nodeFlags);
  const match = await proc.waitForLine(/listening on [^ ]*:(\d+);/);
  const page = extra.includes('off') ? null : await proc.waitForLine(/status page at http:\/\/[^ ]*:(\d+)\//);
  return { ...proc, port: Number(match[1]), httpPort: page ? Number(page[1]) : null, results };
}

/** Polls `check` every `everyMs` until it is truthy; the figures never depend on this resolution. */
export async function waitUntil<T>(check: () => T, what: string, timeoutMs = 60_000, everyMs = 5): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

export const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

/** CPU time (user + system, ms) and resident memory (MB) of a process, from /proc. */
export function readProc(pid: number): { cpuMs: number; rssMb: number } {
  // Fields after the command name, which may hold spaces, so split after ')'.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  const rss = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return { cpuMs: (ticks * 1000) / CLK_TCK, rssMb: Number(rss?.[1] ?? 0) / 1024 };
}

export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

export const median = (values: readonly number[]) => percentile(values, 50);

/** One measured figure: printed as one line, and kept for --json. */
export interface Figure {
  id: string;
  label: string;
  value: number;
  unit: string;
  setup: string;
  /** The goal, in words, and whether this run reached it (omitted when there is none). */
  target?: string;
  met?: boolean;
}
