// A dispatcher in the test's own process on fixed folders, started with the
// flags a test gives (again after a stop, on the same journal), with hand-
// written peers: an observer reporting made-up commits of a repository URL,
// and runners that take a job and answer it. Every commit gets the default
// job. Its log lines are kept for the few facts only a log shows.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { parseDispatcherConfig, type DispatcherConfig } from '../../src/dispatcher/config.js';
import { startDispatcher, type RunningDispatcher } from '../../src/dispatcher/dispatcher.js';
import type { MessageOf } from '../../src/protocol/messages.js';
import type { RunOutcome } from '../../src/protocol/records.js';
import { defaultJobs } from './default-jobs.js';
import { TestPeer } from './peer.js';
import { tempDir, waitFor } from './temp.js';

export const REF = 'refs/heads/main';

export function outcomeOf(status: RunOutcome['status'], patch: Partial<RunOutcome> = {}): RunOutcome {
  return {
    status, exitCode: status === 'passed' ? 0 : 1, signal: null, timedOut: false, startedAt: new Date().toISOString(),
    durationMs: 1500, command: ['./tests/run.sh'], message: status === 'passed' ? '' : 'exit code 1',
    counts: { tests: 12, passed: status === 'passed' ? 12 : 10, failed: status === 'passed' ? 0 : 2, skipped: 0 },
    infra: false, cancelled: false, failedTests: [], junit: null, ...patch,
  };
}

export interface InProcessOptions {
  repo: string;
  flags?: string[];
  env?: NodeJS.ProcessEnv;
  /** Set in the parsed config, for what no flag says (heartbeat times in ms). */
  overrides?: Partial<DispatcherConfig>;
}

export function inProcess(t: TestContext, options: InProcessOptions) {
  const results = tempDir(t);
  const state = tempDir(t);
  const lines: string[] = [];
  const peers: TestPeer[] = [];
  let current: RunningDispatcher | null = null;
  t.after(async () => {
    for (const peer of peers) peer.close();
    await current?.close();
  });
  let observerPeer: TestPeer | null = null;
  const h = {
    results, state, lines,
    async start(flags = options.flags ?? []): Promise<RunningDispatcher> {
      const config = parseDispatcherConfig(['--port', '0', '--results', results, '--state', state, ...flags], options.env ?? {});
      current = await startDispatcher({ ...config, ...options.overrides }, (line) => lines.push(line), defaultJobs);
      return current;
    },
    async stop(): Promise<void> {
      for (const peer of peers.splice(0)) peer.close();
      observerPeer = null;
      await current?.close();
      current = null;
    },
    /** A connection in `role`, closed at stop. */
    async peer(role: 'runner' | 'observer' | 'client' | 'admin', name?: string): Promise<TestPeer> {
      const peer = await TestPeer.as(current!.port, role, name);
      peers.push(peer);
      return peer;
    },
    /** A registered runner of one slot, reclaiming `leases`. */
    async runner(name: string, leases: string[] = []): Promise<TestPeer> {
      const peer = await h.peer('runner', name);
      peer.answerPings();
      peer.send({ type: 'register', name, slots: 1, labels: [], leases });
      await peer.next('registered');
      return peer;
    },
    /** The project's observer, connected (again) if it is not. */
    async observer(project: string | null = null): Promise<TestPeer> {
      if (observerPeer === null || observerPeer.isClosed) {
        observerPeer = await TestPeer.observer(current!.port, options.repo, { project });
        peers.push(observerPeer);
      }
      return observerPeer;
    },
    async commit(sha: string): Promise<MessageOf<'queued'>> {
      return (await h.observer()).report(sha, REF);
    },
    /** Answers the runner's next job with `outcome`; resolves with the job once the result is recorded. */
    async finish(runner: TestPeer, outcome: RunOutcome = outcomeOf('passed')): Promise<MessageOf<'job'>> {
      const job = await runner.next('job');
      runner.send({ type: 'result', lease: job.lease, outcome });
      await runner.next('recorded');
      return job;
    },
    /** Waits for the report <results>/<sha> (written last), and returns <sha>.json. */
    async result(sha: string) {
      await waitFor(() => existsSync(join(results, sha)), `the result of ${sha}`);
      return JSON.parse(readFileSync(join(results, `${sha}.json`), 'utf8'));
    },
  };
  return h;
}
