// Does the dispatcher forget finished builds? RSS after 100 finished builds
// (result files written) against RSS after 10,000, same process, no-op jobs;
// and, since RSS also holds garbage V8 has not collected yet, the live
// JavaScript heap at both points, read from a heap snapshot (which runs a
// full collection first) that Node writes on a signal.

import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { startNoopFarm } from './noop-farm.js';
import { delay, readProc, startDispatcher, tempDir, waitUntil, type Figure } from './support.js';

const RUNNERS = 50;

/** Sum of the self sizes of every object in a heap snapshot, in MB. */
function heapSnapshotMb(path: string): number | null {
  let snapshot;
  try {
    snapshot = JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    return null; // still being written
  }
  const fields: string[] = snapshot.snapshot.meta.node_fields;
  const selfSize = fields.indexOf('self_size');
  const nodes: number[] = snapshot.nodes;
  let bytes = 0;
  for (let i = selfSize; i < nodes.length; i += fields.length) bytes += nodes[i]!;
  return bytes / 1024 / 1024;
}

/** Asks the dispatcher for a heap snapshot (SIGUSR2) and returns its live heap in MB. */
async function liveHeapMb(pid: number, dir: string): Promise<number> {
  process.kill(pid, 'SIGUSR2');
  const file = await waitUntil(() => readdirSync(dir).find((name) => name.endsWith('.heapsnapshot')), 'a heap snapshot', 60_000, 50);
  const mb = await waitUntil(() => heapSnapshotMb(join(dir, file)), 'a complete heap snapshot', 60_000, 100);
  rmSync(join(dir, file));
  return mb;
}

/**
 * Runs 10,000 no-op builds through a fresh dispatcher and takes a reading
 * (RSS, or the live heap) once each of `points` builds have their result
 * files. Separate runs for the two, because writing a heap snapshot leaves
 * its own memory in the process's RSS.
 */
async function afterBuilds<T>(name: string, nodeFlags: string[], points: number[], reading: (pid: number) => Promise<T>): Promise<T[]> {
  const dir = tempDir(name);
  const dispatcher = await startDispatcher(dir, [], nodeFlags);
  const farm = await startNoopFarm(dispatcher.port, RUNNERS);
  const readings: T[] = [];
  // In batches of 100, the size of the first reading, so what is compared is
  // what finished builds leave behind, not the peak of a larger burst.
  for (let done = 0; done < Math.max(...points);) {
    await farm.build(100);
    done += 100;
    if (!points.includes(done)) continue;
    await farm.written(dispatcher.results, done);
    await delay(1000); // let the garbage collector catch up, the same before every reading
    readings.push(await reading(dispatcher.pid));
  }
  farm.close();
  return readings;
}

export async function measureMemory(): Promise<Figure[]> {
  const [small, middle, large] = await afterBuilds('memory-rss', [], [100, 5_000, 10_000], async (pid) => readProc(pid).rssMb) as [number, number, number];
  const snapshots = tempDir('memory-snapshots');
  const [smallHeap, largeHeap] = await afterBuilds('memory-heap', ['--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${snapshots}`], [100, 10_000], (pid) => liveHeapMb(pid, snapshots)) as [number, number];
  const growth = (large / small - 1) * 100;
  const heapGrowth = (largeHeap / smallHeap - 1) * 100;
  const setup = `one dispatcher, ${RUNNERS} fake runners, no-op jobs, commits sent 100 at a time; RSS once all result files were written, 1 s later`;
  const heapSetup = 'the same run in a second dispatcher: JavaScript objects alive after a full garbage collection (heap snapshot on SIGUSR2)';
  return [
    { id: 'dispatcher.rss.100-builds', label: 'dispatcher RSS after 100 builds', value: round(small), unit: 'MB', setup },
    { id: 'dispatcher.rss.10000-builds', label: 'dispatcher RSS after 10,000 builds', value: round(large), unit: 'MB', setup },
    { id: 'dispatcher.rss.growth', label: 'RSS growth from 100 to 10,000 builds', value: round(growth), unit: '%', setup, target: '≤ 20 %', met: growth <= 20 },
    { id: 'dispatcher.rss.growth-second-half', label: 'RSS growth from 5,000 to 10,000 builds', value: round((large / middle - 1) * 100), unit: '%', setup },
    { id: 'dispatcher.heap.100-builds', label: 'dispatcher live heap after 100 builds', value: round(smallHeap), unit: 'MB', setup: heapSetup },
    { id: 'dispatcher.heap.10000-builds', label: 'dispatcher live heap after 10,000 builds', value: round(largeHeap), unit: 'MB', setup: heapSetup },
    { id: 'dispatcher.heap.growth', label: 'live heap growth from 100 to 10,000 builds', value: round(heapGrowth), unit: '%', setup: heapSetup, target: '≤ 20 %', met: heapGrowth <= 20 },
  ];
}

const round = (n: number) => Math.round(n * 10) / 10;
