// Many protocol-level runners doing no-op jobs against a real dispatcher
// process, fed by one observer connection: what the dispatcher alone costs
// per build.

import { readdirSync } from 'node:fs';
import { FakePeer, noopRunner, type NoopCounts } from './fake-peer.js';
import { makeBenchRepo } from './bench-repo.js';
import { tempDir, waitUntil } from './support.js';

export interface NoopFarm {
  /** Sends `count` new commits at once; resolves when every job is assigned and every result recorded. */
  build(count: number): Promise<{ assignedMs: number; recordedMs: number }>;
  /** Waits until `count` result records are on disk in `results`. */
  written(results: string, count: number): Promise<void>;
  close(): void;
}

export async function startNoopFarm(port: number, runners: number): Promise<NoopFarm> {
  const counts: NoopCounts = { jobs: 0, recorded: 0 };
  const peers: FakePeer[] = [];
  for (let i = 0; i < runners; i++) peers.push(await noopRunner(port, `noop-${i}`, counts));
  const repo = makeBenchRepo(tempDir('farm-repo'));
  const observer = await FakePeer.observer(port, 'bench-observer', repo.path);
  return {
    async build(count) {
      const jobsBefore = counts.jobs;
      const recordedBefore = counts.recorded;
      const shas = repo.commits(count);
      const start = performance.now();
      for (const commit of shas) {
        observer.send({ type: 'commit', commit, ref: 'refs/heads/main' });
      }
      await waitUntil(() => counts.jobs - jobsBefore >= count, `${count} assignments`, 150_000, 2);
      const assignedMs = performance.now() - start;
      await waitUntil(() => counts.recorded - recordedBefore >= count, `${count} results recorded`, 150_000, 2);
      return { assignedMs, recordedMs: performance.now() - start };
    },
    async written(results, count) {
      await waitUntil(() => readdirSync(results).filter((name) => name.endsWith('.json')).length >= count, `${count} result files`, 180_000, 50);
    },
    close() {
      for (const peer of [...peers, observer]) peer.close();
    },
  };
}
