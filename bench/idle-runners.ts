// The dispatcher's cost at rest: first with nothing connected, then with
// 1,000 idle runners being pinged every 5 s (the default heartbeat), each
// over 30 s, read from /proc (user + system CPU, VmRSS). The runners live
// in a child process of their own, so the dispatcher's descriptors are only
// its 1,000 sockets.

import { spawn } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { delay, onCleanUp, readProc, startDispatcher, tempDir, type Figure } from './support.js';

const RUNNERS = 1000;
const IDLE_WINDOW_MS = 10_000;
const WINDOW_MS = 30_000;
const CHILD = fileURLToPath(new URL('./idle-runners-child.ts', import.meta.url));

async function cpuPercent(pid: number, windowMs: number): Promise<number> {
  const before = readProc(pid).cpuMs;
  const start = performance.now();
  await delay(windowMs);
  return ((readProc(pid).cpuMs - before) / (performance.now() - start)) * 100;
}

export async function measureIdleRunners(): Promise<Figure[]> {
  const fdLimit = execFileSync('sh', ['-c', 'ulimit -n'], { encoding: 'utf8' }).trim();
  const dispatcher = await startDispatcher(tempDir('idle'));
  const idleCpu = await cpuPercent(dispatcher.pid, IDLE_WINDOW_MS);

  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, String(dispatcher.port), String(RUNNERS)], { stdio: ['ignore', 'pipe', 'inherit'] });
  onCleanUp(() => void child.kill('SIGKILL'));
  await new Promise<void>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => line === 'ready' && resolve());
    child.once('exit', (code) => reject(new Error(`idle runners exited with ${code}`)));
  });
  await delay(1000); // registrations logged and settled
  const busyCpu = await cpuPercent(dispatcher.pid, WINDOW_MS);
  const rss = readProc(dispatcher.pid).rssMb;
  child.kill('SIGTERM');

  const setup = `${RUNNERS} fake runners in a separate process, default --heartbeat 5, ${WINDOW_MS / 1000} s window (ulimit -n ${fdLimit})`;
  return [
    {
      id: 'dispatcher.idle.cpu', label: 'dispatcher CPU with nothing connected', value: round(idleCpu), unit: '% of one core',
      setup: `no peers, ${IDLE_WINDOW_MS / 1000} s window`, target: '≈ 0', met: idleCpu < 0.5,
    },
    { id: 'dispatcher.idle-runners.cpu', label: 'dispatcher CPU with 1,000 idle runners', value: round(busyCpu), unit: '% of one core', setup, target: '≤ 5 %', met: busyCpu <= 5 },
    { id: 'dispatcher.idle-runners.rss', label: 'dispatcher RSS with 1,000 idle runners', value: round(rss), unit: 'MB', setup, target: '≤ 150 MB', met: rss <= 150 },
  ];
}

const round = (n: number) => Math.round(n * 100) / 100;
