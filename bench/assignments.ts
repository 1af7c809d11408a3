// Dispatcher throughput: 50 protocol-level runners that finish every job at
// once, and one observer connection sending commits as fast as it can. The
// rate counts jobs handed out from the first commit sent to the last job
// received; every assignment and result goes through the fsynced journal.

import { startNoopFarm } from './noop-farm.js';
import { startDispatcher, tempDir, type Figure } from './support.js';

const RUNNERS = 50;
const BUILDS = 4000;

export async function measureAssignments(): Promise<Figure[]> {
  const dispatcher = await startDispatcher(tempDir('assign'));
  const farm = await startNoopFarm(dispatcher.port, RUNNERS);
  await farm.build(100); // warm-up: JIT, first files
  const { assignedMs, recordedMs } = await farm.build(BUILDS);
  farm.close();
  const rate = BUILDS / (assignedMs / 1000);
  const setup = `${RUNNERS} fake runners (1 slot, no-op jobs) on real sockets, ${BUILDS} commits sent at once by one observer connection`;
  return [
    { id: 'dispatcher.assignments', label: 'dispatcher assignments per second', value: Math.round(rate), unit: 'assignments/s', setup, target: '≥ 2000/s', met: rate >= 2000 },
    { id: 'dispatcher.builds', label: 'dispatcher builds recorded per second', value: Math.round(BUILDS / (recordedMs / 1000)), unit: 'builds/s', setup },
  ];
}
