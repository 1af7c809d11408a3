// `keel notify` as a post-receive hook runs it: a fresh Node process that
// connects, asks the dispatcher to tell its observers to scan, and exits.
// The push waits for it, so its wall time (spawn to exit, Node's own start
// included) is the figure; a bare `node -e ''` and `keel --help`, run in
// turn with it under the same load, show how much of it is Node's start and
// loading the CLI.

import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { startWorld, until } from './keel-world.js';
import { median, percentile, ROOT, type Figure } from './support.js';

const RUNS = 20;
const CLI = join(ROOT, 'dist', 'cli', 'main.js');

interface Run {
  ms: number;
  code: number | null;
  stdout: string;
}

/** Runs Node with `args`; resolves with its wall time, from spawn to exit with its output closed. */
function timeNode(args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'ignore'], env: { ...process.env, NODE_DEBUG: '' } });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => { stdout += chunk.toString('utf8'); });
    child.on('error', reject);
    child.on('close', (code) => resolve({ ms: performance.now() - started, code, stdout }));
  });
}

export async function measureNotify(): Promise<Figure[]> {
  const world = await startWorld({ name: 'notify', runners: 0, test: '#!/bin/sh\nexit 0\n' });
  const notify = [CLI, 'notify', '--dispatcher', `127.0.0.1:${world.dispatcher.port}`];
  // Someone to tell: the observer has said hello once the dispatcher counts it.
  await until(async () => (await timeNode(notify)).stdout === 'notified 1 observer(s)\n', 'the observer to be connected', 30_000, 50);
  const times = { notify: [] as number[], bare: [] as number[], help: [] as number[] };
  for (let i = 0; i < RUNS; i++) {
    const run = await timeNode(notify);
    if (run.code !== 0 || run.stdout !== 'notified 1 observer(s)\n') throw new Error(`keel notify exited ${run.code}: ${run.stdout}`);
    times.notify.push(run.ms);
    times.bare.push((await timeNode(['-e', ''])).ms);
    times.help.push((await timeNode([CLI, '--help'])).ms);
  }
  const round = (ms: number) => Math.round(ms);
  const setup = `${RUNS} runs each, in turn: node dist/cli/main.js notify --dispatcher ADDR (no secret, no TLS) to a dispatcher with 1 observer; spawn to exit`;
  const value = round(median(times.notify));
  return [
    { id: 'notify.median', label: 'keel notify, Node\'s start included, median', value, unit: 'ms', setup, target: '≤ 100 ms', met: value <= 100 },
    { id: 'notify.p95', label: 'keel notify, Node\'s start included, p95', value: round(percentile(times.notify, 95)), unit: 'ms', setup },
    { id: 'notify.node-bare.median', label: 'bare node -e \'\', median', value: round(median(times.bare)), unit: 'ms', setup: 'the same runs: Node\'s own start and exit' },
    { id: 'notify.cli-help.median', label: 'node dist/cli/main.js --help, median', value: round(median(times.help)), unit: 'ms', setup: 'the same runs: Node and the CLI\'s entry, no connection' },
  ];
}
