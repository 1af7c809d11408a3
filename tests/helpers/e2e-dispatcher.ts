// A dispatcher process as end-to-end tests see it: its port (from its
// "listening" line, the only place a dispatcher on port 0 says which port it
// got), what it answers a client's `query` (asked by one connection of the
// harness's own, authenticated when the dispatcher has a secret, over TLS
// when it serves TLS), waits built on those answers, and `keel` pointed at it.
import type { TestContext } from 'node:test';
import type { ConnectionOptions } from 'node:tls';
import { parseSecret, roleKey } from '../../src/common/auth.js';
import type { AttemptRecord, BuildRecord } from '../../src/protocol/records.js';
import { connectAs, query, type Status } from './e2e-wire.js';
import type { TestPeer } from './peer.js';
import { runKeel, type Proc } from './processes.js';

export type CliResult = { code: number | null; stdout: string; stderr: string };
export type Until = <T>(check: () => T | Promise<T>, what: string, timeoutMs?: number) => Promise<NonNullable<T>>;

/** A secret in the developer's shell must not reach any process a test starts. */
export const NO_TOKEN: NodeJS.ProcessEnv = { KEEL_TOKEN: undefined };

/** Runs a built entry point (e.g. `runner/main.js`) to completion; KEEL_TOKEN only when `env` gives it. */
export function runEntry(entry: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return runKeel(entry, args, { env: { ...NO_TOKEN, ...env } });
}

/** Runs `keel ARGS` to completion; KEEL_TOKEN only when `env` gives it. */
export function runCli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return runEntry('cli/main.js', args, env);
}

export interface DispatcherOptions {
  /** 0 (the default) for a free port; a restart passes the old one. */
  port?: number;
  extra?: string[];
  env?: NodeJS.ProcessEnv;
  /** The master secret, given as KEEL_TOKEN; the harness's own queries then authenticate as a client. */
  secret?: string;
  /** How the harness's own queries reach a dispatcher that serves TLS (at least the CA). */
  tls?: ConnectionOptions;
}

export interface Dispatcher extends Proc {
  port: number;
  address: string;
  /** What the dispatcher answers a client's query: one build, or the overview. */
  status(commit?: string | null, project?: string | null): Promise<Status>;
  /** Asks about `sha` until the dispatcher knows its build (and `check` holds). */
  waitForBuild(sha: string, check?: (build: BuildRecord) => boolean, what?: string): Promise<BuildRecord>;
  /** Waits until attempt `attempt` of the build's first job has started (on `runner`, if given). */
  waitForAttempt(sha: string, attempt: number, runner?: string): Promise<AttemptRecord>;
  /** Waits until the overview lists a runner of that name: it has registered. */
  waitForRunner(name: string): Promise<void>;
  /** Waits until the overview no longer lists it: lost, or its connection closed. */
  waitForRunnerGone(name: string): Promise<void>;
  /** `keel ARGS --dispatcher <this one>` with no secret. */
  keel(...args: string[]): Promise<CliResult>;
}

/** How the world waits: `until` polls with its deadline, `withLogs` adds every process's output to an error. */
export interface Waits {
  until: Until;
  withLogs: (error: Error) => never;
}

/** Waits for a started dispatcher process to listen, and wraps it. */
export async function listeningDispatcher(t: TestContext, proc: Proc, options: DispatcherOptions, { until, withLogs }: Waits): Promise<Dispatcher> {
  // Log wait kept: the port a dispatcher on port 0 got is only in its "listening" line.
  const port = Number((await proc.waitForLine(/listening on [^ ]*:(\d+)/).catch(withLogs))[1]);
  const address = `127.0.0.1:${port}`;
  const key = options.secret ? roleKey(parseSecret(options.secret).key, 'client') : undefined;
  let client: TestPeer | null = null;
  let asking: Promise<unknown> = Promise.resolve();
  const ask = async (commit: string | null, project: string | null): Promise<Status> => {
    if (client === null || client.isClosed) client = await connectAs(t, port, 'client', 'e2e-harness', { key, tls: options.tls });
    return query(client, commit, project);
  };
  // One question at a time on the one connection, so each answer is matched to its question.
  const status = (commit: string | null = null, project: string | null = null): Promise<Status> => {
    const answer = asking.then(() => ask(commit, project));
    asking = answer.catch(() => {});
    return answer;
  };
  const waitForBuild = (sha: string, check: (build: BuildRecord) => boolean = () => true, what = `the dispatcher to know ${sha}`) =>
    until(async () => {
      const build = (await status(sha)).record;
      return build && check(build) ? build : null;
    }, what);
  const listed = async (name: string) => (await status()).runners.some((r) => r.name === name);
  return {
    ...proc, port, address, status, waitForBuild,
    async waitForAttempt(sha, attempt, runner) {
      const started = (a: AttemptRecord) => a.attempt === attempt && (runner === undefined || a.runner === runner);
      const build = await waitForBuild(sha, (b) => b.jobs[0]?.attempts.some(started) ?? false, `attempt ${attempt} of ${sha}${runner ? ` on ${runner}` : ''}`);
      return build.jobs[0]!.attempts.find(started)!;
    },
    async waitForRunner(name) {
      await until(() => listed(name), `runner ${name} to be registered`);
    },
    async waitForRunnerGone(name) {
      await until(async () => !(await listed(name)), `runner ${name} to be gone from the dispatcher`);
    },
    keel: (...args) => runCli([...args, '--dispatcher', address]),
  };
}
