// Dispatcher throughput: 50 protocol-level runners that finish every job at
// once, and one observer connection sending commits as fast as it can. The
// rate counts jobs handed out from the first commit sent to the last job
// received; every assignment and result goes through the fsynced journal and
// every build writes its three result files. Jobs wait while 256 finished
// builds wait for their files (--max-unwritten), so after the first few
// hundred this is the rate builds are finished end to end, files included.
//
// Measured twice: with the results and state on the disk (what a user
// gets), and on tmpfs when /dev/shm is there, which leaves out the
// filesystem and shows what the dispatcher itself can do on this machine.

import { accessSync, constants, mkdtempSync, rmSync } from 'node:fs';
import { startNoopFarm } from './noop-farm.js';
import { onCleanUp, startDispatcher, tempDir, type Figure } from './support.js';

const RUNNERS = 50;
const BUILDS = 4000;
const TMPFS = '/dev/shm';

async function rate(dir: string): Promise<{ assigned: number; recorded: number }> {
  const dispatcher = await startDispatcher(dir);
  const farm = await startNoopFarm(dispatcher.port, RUNNERS);
  await farm.build(100); // warm-up: JIT, first files
  const { assignedMs, recordedMs } = await farm.build(BUILDS);
  farm.close();
  return { assigned: BUILDS / (assignedMs / 1000), recorded: BUILDS / (recordedMs / 1000) };
}

function tmpfsDir(): string | null {
  try {
    accessSync(TMPFS, constants.W_OK);
  } catch {
    return null;
  }
  const dir = mkdtempSync(`${TMPFS}/keel-bench-`);
  onCleanUp(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export async function measureAssignments(): Promise<Figure[]> {
  const disk = await rate(tempDir('assign'));
  const setup = `${RUNNERS} fake runners (1 slot, no-op jobs) on real sockets, ${BUILDS} commits sent at once by one observer connection; jobs wait while 256 results are unwritten`;
  const figures: Figure[] = [
    { id: 'dispatcher.assignments', label: 'dispatcher assignments per second', value: Math.round(disk.assigned), unit: 'assignments/s', setup, target: '≥ 2000/s', met: disk.assigned >= 2000 },
    { id: 'dispatcher.builds', label: 'dispatcher builds recorded per second', value: Math.round(disk.recorded), unit: 'builds/s', setup },
  ];
  const shm = tmpfsDir();
  if (shm) {
    const memory = await rate(shm);
    figures.push({ id: 'dispatcher.assignments.tmpfs', label: 'dispatcher assignments per second, files on tmpfs', value: Math.round(memory.assigned), unit: 'assignments/s', setup: `${setup}; results and state in ${TMPFS}, so the disk is left out` });
  }
  return figures;
}
