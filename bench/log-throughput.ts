// Log to disk: one protocol-level runner streams 200 MB of `output` for one
// job as fast as its socket takes it, then its result. The figure is MB/s
// from the first byte sent to the result file on disk (the dispatcher flushes
// the log before writing it). Meanwhile the runner notes when each ping
// arrives, with --heartbeat 0.5: the worst gap says how late the dispatcher's
// timers ran while it was writing.

import { once } from 'node:events';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { encode } from '../src/protocol/codec.js';
import { MAX_OUTPUT_CHUNK, type Job } from '../src/protocol/messages.js';
import { makeBenchRepo } from './bench-repo.js';
import { FakePeer, passedOutcome } from './fake-peer.js';
import { startDispatcher, tempDir, waitUntil, type Figure } from './support.js';

const TOTAL_BYTES = 200 * 1024 * 1024;
const HEARTBEAT_S = 0.5;
const DEADLINE_S = 1.5;

export async function measureLogThroughput(): Promise<Figure[]> {
  const dispatcher = await startDispatcher(tempDir('log'), ['--heartbeat', String(HEARTBEAT_S), '--deadline', String(DEADLINE_S)]);
  const pings: number[] = [];
  let gotJob!: (job: Job) => void;
  const job = new Promise<Job>((resolve) => (gotJob = resolve));
  const runner = await FakePeer.runner(dispatcher.port, 'streamer', { onPing: () => pings.push(performance.now()), onJob: (j) => gotJob(j) });
  const repo = makeBenchRepo(tempDir('log-repo'));
  const observer = await FakePeer.observer(dispatcher.port, 'bench-observer', repo.path);
  const [sha] = repo.commits(1) as [string];
  observer.send({ type: 'commit', commit: sha, ref: 'refs/heads/main' });
  const { lease } = await job;

  const line = Buffer.from(encode({ type: 'output', lease, stream: 'stdout', data: `${'x'.repeat(MAX_OUTPUT_CHUNK - 1)}\n` }));
  const start = performance.now();
  const firstPing = pings.length;
  for (let sent = 0; sent < TOTAL_BYTES; sent += MAX_OUTPUT_CHUNK) {
    if (!runner.socket.write(line)) await once(runner.socket, 'drain');
  }
  runner.send({ type: 'result', lease, outcome: passedOutcome() });
  await waitUntil(() => existsSync(join(dispatcher.results, sha)), 'the result file', 300_000, 5);
  const seconds = (performance.now() - start) / 1000;
  const end = performance.now();
  const logBytes = statSync(join(dispatcher.results, `${sha}.log`)).size;
  const during = [start, ...pings.slice(firstPing).filter((t) => t <= end), end];
  const worstGap = Math.max(...during.slice(1).map((t, i) => t - during[i]!));
  const dropped = dispatcher.lines.some((l) => /silent for|lost/.test(l));
  runner.close();
  observer.close();

  // What reached the disk: the dispatcher caps each job's log and drops the rest.
  const mbps = logBytes / 1024 / 1024 / seconds;
  const setup = `one fake runner, ${TOTAL_BYTES / 1024 / 1024} MB in 64 KiB output messages; log on disk ${(logBytes / 1024 / 1024).toFixed(0)} MB; --heartbeat ${HEARTBEAT_S} --deadline ${DEADLINE_S}`;
  return [
    { id: 'dispatcher.log.throughput', label: 'log written to disk (bytes on disk / time to result file)', value: Math.round(mbps), unit: 'MB/s', setup, target: '≥ 50 MB/s', met: mbps >= 50 },
    {
      id: 'dispatcher.log.worst-ping-gap', label: 'worst gap between pings while writing', value: Math.round(worstGap), unit: 'ms',
      setup: `${setup}; runner ${dropped ? 'WAS' : 'was not'} declared lost`, target: `≤ ${DEADLINE_S * 1000} ms (deadline), runner never lost`,
      met: worstGap <= DEADLINE_S * 1000 && !dropped,
    },
  ];
}
