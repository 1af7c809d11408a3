// One end-to-end test's world: temp folders (results, dispatcher state, a
// control folder for the tests' own scripts), a bare central repository with
// a working copy and a clone path for the observer, and starters for the
// built dispatcher, runner and observer. Waits are on a protocol answer (the
// dispatcher's `status`, asked by a client connection of the harness) or on
// a file (result files, a runner's spooled results, an observer's cursor,
// the scripts' `started-*` and `runs-*` files); the one log line the harness
// itself waits for is the dispatcher's "listening", for its port.
//
// When the test ends, pass or fail, every process is SIGCONTed and SIGKILLed,
// then every process group a test script wrote to control/pids (a group can
// outlive a killed runner), and only then are the folders removed.
import { existsSync, mkdirSync, readdirSync, readFileSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import type { BuildRecord } from '../../src/protocol/records.js';
import { parseDispatcherConfig } from '../../src/dispatcher/config.js';
import { startDispatcher } from '../../src/dispatcher/dispatcher.js';
import { cursorPath, parseCursor, type Cursor } from '../../src/observer/cursor.js';
import type { MessageOf } from '../../src/protocol/messages.js';
import { listeningDispatcher, NO_TOKEN, type Dispatcher, type DispatcherOptions } from './e2e-dispatcher.js';
import { TestScripts } from './e2e-scripts.js';
import { commitFiles, git, makeCentralAndClone } from './git-repo.js';
import { killGroupOf, spawnKeel, type Proc } from './processes.js';
import { stopAtEnd, tempDir, waitFor } from './temp.js';

export { runCli, runEntry, type CliResult, type Dispatcher, type DispatcherOptions } from './e2e-dispatcher.js';
export { gone, type Proc } from './processes.js';

/** How long any one wait may take. */
export const WAIT_MS = 60_000;
/** How long a process may take to stop after SIGTERM (its own grace is 10 s). */
export const EXIT_GRACE_MS = 15_000;

export type Exit = { code: number | null; signal: NodeJS.Signals | null };

export interface RunnerOptions {
  slots?: number;
  labels?: string;
  extra?: string[];
  env?: NodeJS.ProcessEnv;
  /** Defaults to <tmp>/runner-<name>; a restart on the same name reuses it. */
  workdir?: string;
}

export interface Runner extends Proc {
  name: string;
  workdir: string;
}

export interface ObserverOptions {
  clone?: string;
  project?: string;
  supersede?: boolean;
  /** The --state folder's name under the world's temp folder. */
  state?: string;
  /** --interval in seconds (default 0.1). */
  interval?: string;
  extra?: string[];
  env?: NodeJS.ProcessEnv;
}

export interface Observer extends Proc {
  /** Waits until the observer has `sha` as `branch`'s head and nothing pending for it: the dispatcher answered `queued`. */
  delivered(sha: string, branch?: string): Promise<void>;
  /** The commits its cursor holds that the dispatcher has not acknowledged. */
  pending(): string[];
}

export type World = ReturnType<typeof world>;

export function world(t: TestContext) {
  const procs: Array<{ label: string; proc: Proc }> = [];
  const repos = makeCentralAndClone(t);
  const tmp = tempDir(t, 'keel-e2e-');
  const control = join(tmp, 'control');
  mkdirSync(control);
  const results = join(tmp, 'results');
  const state = join(tmp, 'dispatcher-state');

  stopAtEnd(t, async () => {
    await Promise.all(procs.map(async ({ proc }) => {
      if (proc.child.exitCode !== null || proc.child.signalCode !== null) return;
      try { proc.child.kill('SIGCONT'); } catch { /* gone */ }
      proc.child.kill('SIGKILL');
      await proc.exited;
    }));
    for (const pid of scripts.pids()) killGroupOf(pid);
  });

  /** Every process's output so far, for assertion messages. */
  const logs = (): string => procs.map(({ label, proc }) => `--- ${label}\n${proc.lines.join('\n')}`).join('\n');
  const withLogs = (error: Error): never => {
    throw new Error(`${error.message}\n${logs()}`);
  };
  const until = <T>(check: () => T | Promise<T>, what: string, timeoutMs = WAIT_MS) => waitFor(check, what, timeoutMs).catch(withLogs);
  const scripts = new TestScripts(control, until);
  const count = (label: string) => procs.filter((p) => p.label.startsWith(label)).length;

  /** Starts a built entry point with the world's folders and no inherited secret. */
  const spawn = (label: string, entry: string, args: string[], env: NodeJS.ProcessEnv = {}): Proc => {
    const proc = spawnKeel(t, entry, args, { cwd: tmp, env: { ...NO_TOKEN, ...env } });
    procs.push({ label, proc });
    return proc;
  };

  async function dispatcher(options: DispatcherOptions = {}): Promise<Dispatcher> {
    const extra = options.extra ?? [];
    // A restart names its old port, which would put the page on the fixed 8080: tests never use fixed ports.
    const page = extra.includes('--http-port') ? [] : ['--http-port', '0'];
    const args = ['--port', String(options.port ?? 0), '--results', results, '--state', state, ...page, ...extra];
    const env = { ...options.env, ...(options.secret ? { KEEL_TOKEN: options.secret } : {}) };
    const proc = spawn(`dispatcher #${count('dispatcher') + 1}`, 'dispatcher/main.js', args, env);
    return listeningDispatcher(t, proc, options, { until, withLogs });
  }

  function startRunner(name: string, to: Dispatcher, options: RunnerOptions = {}): Runner {
    const workdir = options.workdir ?? join(tmp, `runner-${name}`);
    const args = ['--dispatcher', to.address, '--name', name, '--workdir', workdir,
      ...(options.slots ? ['--slots', String(options.slots)] : []), ...(options.labels ? ['--labels', options.labels] : []), ...(options.extra ?? [])];
    return { ...spawn(`runner ${name}`, 'runner/main.js', args, options.env), name, workdir };
  }

  function observer(to: Dispatcher, options: ObserverOptions = {}): Observer {
    const stateDir = join(tmp, options.state ?? 'observer-state');
    const clone = options.clone ?? repos.clone;
    const args = ['--dispatcher', to.address, '--interval', options.interval ?? '0.1', '--state', stateDir,
      ...(options.project ? ['--project', options.project] : []), ...(options.supersede ? ['--supersede'] : []), ...(options.extra ?? []), clone];
    const proc = spawn(`observer #${count('observer') + 1}${options.project ? ` (${options.project})` : ''}`, 'observer/main.js', args, options.env);
    /** The observer's cursor file as it is now, or null when there is none yet. */
    const cursor = (): Cursor | null => {
      const file = existsSync(clone) ? cursorPath(stateDir, realpathSync(clone)) : '';
      return file && existsSync(file) ? parseCursor(readFileSync(file, 'utf8')) : null;
    };
    return {
      ...proc,
      pending: () => cursor()?.pending.map((entry) => entry.commit) ?? [],
      async delivered(sha, branch = 'main') {
        await until(() => {
          const now = cursor();
          return now !== null && now.branches.get(branch) === sha && !now.pending.some((p) => p.commit === sha);
        }, `the observer to have ${sha} queued`);
      },
    };
  }

  /** Resolves with how the process exited; rejects if it has not within EXIT_GRACE_MS from now. */
  async function exit(proc: Proc): Promise<Exit> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`still running ${EXIT_GRACE_MS} ms later\n${logs()}`)), EXIT_GRACE_MS);
    });
    try {
      return await Promise.race([proc.exited, late]);
    } finally {
      clearTimeout(timer);
    }
  }

  const folderOf = (project?: string | null) => (project ? join(results, project) : results);
  /** <sha>.json as it is now. */
  const readResult = (sha: string, project?: string) => JSON.parse(readFileSync(join(folderOf(project), `${sha}.json`), 'utf8'));

  return {
    ...repos, tmp, control, results, state, logs, scripts, until, spawn, dispatcher, startRunner, observer,

    /**
     * Commits to a working copy (the central one's by default) and pushes
     * `branch` to its origin (unless `push: false`, to push several commits
     * at once with the last); returns the sha.
     */
    push(files: Record<string, string>, message: string, options: { work?: string; branch?: string; push?: boolean } = {}): string {
      const work = options.work ?? repos.work;
      const sha = commitFiles(work, files, message);
      if (options.push !== false) git(work, 'push', '-q', 'origin', options.branch ?? 'main');
      return sha;
    },

    /** Makes the observer's clone (of central by default): after the first push, so it has a branch. */
    cloneFor(central = repos.central, clone = repos.clone): void {
      git(tmp, 'clone', '-q', central, clone);
    },

    /** A dispatcher in this process (port 0, the world's folders), closed when the test ends; its log lines are collected. */
    async inProcess(flags: string[] = []): Promise<{ port: number; lines: string[] }> {
      const lines: string[] = [];
      const config = parseDispatcherConfig(['--port', '0', '--results', results, '--state', state, ...flags], {});
      const running = await startDispatcher(config, (line) => lines.push(line));
      stopAtEnd(t, () => running.close());
      return { port: running.port, lines };
    },

    /** A runner; resolves once the dispatcher lists it. */
    async runner(name: string, to: Dispatcher, options: RunnerOptions = {}): Promise<Runner> {
      const proc = startRunner(name, to, options);
      await to.waitForRunner(name);
      return proc;
    },

    /**
     * Waits for the one result a runner keeps on disk until the dispatcher
     * records it (<workdir>/results/<lease>.json). Found by its folder: no
     * query shows a lease id, which only its runner may know.
     */
    async spooled(runner: Runner): Promise<MessageOf<'result'>> {
      const folder = join(runner.workdir, 'results');
      const spooled = () => (existsSync(folder) ? readdirSync(folder).filter((name) => /^[A-Za-z0-9_-]+\.json$/.test(name)) : []);
      const [file] = await until(() => (spooled().length > 0 ? spooled() : null), `runner ${runner.name} to spool a result`);
      return JSON.parse(readFileSync(join(folder, file!), 'utf8'));
    },

    /** Waits until the runner has forgotten a spooled result: the dispatcher answered `recorded`. */
    async unspooled(runner: Runner, lease: string): Promise<void> {
      await until(() => !existsSync(join(runner.workdir, 'results', `${lease}.json`)), `runner ${runner.name} to drop the spooled result of ${lease}`);
    },

    /** Waits for the report <results>[/project]/<sha> (written last, so the rest is there) and returns <sha>.json. */
    async result(sha: string, options: { project?: string; timeoutMs?: number; check?: (record: BuildRecord) => boolean } = {}) {
      const { check = () => true } = options;
      // The report is written last: once it is there, <sha>.json is whole.
      await until(() => existsSync(join(folderOf(options.project), sha)) && check(readResult(sha, options.project)), `the result of ${sha}`, options.timeoutMs);
      return readResult(sha, options.project);
    },

    readResult,

    /** The text report <results>[/project]/<sha>. */
    report(sha: string, project?: string): string {
      return readFileSync(join(folderOf(project), sha), 'utf8');
    },

    /** Sends `signal` and resolves with how the process exited; rejects if it has not within EXIT_GRACE_MS. */
    stop(proc: Proc, signal: NodeJS.Signals = 'SIGTERM'): Promise<Exit> {
      proc.child.kill(signal);
      return exit(proc);
    },

    exit,
  };
}
