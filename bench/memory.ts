// Does the dispatcher forget finished builds? RSS after 100 finished builds
// (result files written) against RSS after 10,000, same process, no-op jobs.

import { startNoopFarm } from './noop-farm.js';
import { delay, readProc, startDispatcher, tempDir, type Figure } from './support.js';

const RUNNERS = 50;

export async function measureMemory(): Promise<Figure[]> {
  const dispatcher = await startDispatcher(tempDir('memory'));
  const farm = await startNoopFarm(dispatcher.port, RUNNERS);
  await farm.build(100);
  await farm.written(dispatcher.results, 100);
  await delay(1000); // let the garbage collector catch up, the same before both readings
  const small = readProc(dispatcher.pid).rssMb;
  // In batches of the same size as the first reading, so what is compared is
  // what finished builds leave behind, not the peak of a larger burst.
  for (let done = 100; done < 10_000; done += 100) await farm.build(100);
  await farm.written(dispatcher.results, 10_000);
  await delay(1000);
  const large = readProc(dispatcher.pid).rssMb;
  farm.close();
  const growth = (large / small - 1) * 100;
  const setup = `one dispatcher, ${RUNNERS} fake runners, no-op jobs, commits sent 100 at a time; RSS once all result files were written, 1 s later`;
  return [
    { id: 'dispatcher.rss.100-builds', label: 'dispatcher RSS after 100 builds', value: round(small), unit: 'MB', setup },
    { id: 'dispatcher.rss.10000-builds', label: 'dispatcher RSS after 10,000 builds', value: round(large), unit: 'MB', setup },
    { id: 'dispatcher.rss.growth', label: 'RSS growth from 100 to 10,000 builds', value: round(growth), unit: '%', setup, target: '≤ 20 %', met: growth <= 20 },
  ];
}

const round = (n: number) => Math.round(n * 10) / 10;
