// The gate's figures, with the real processes on a real repository: how long
// 16 land requests queued at once take to land (batched, and with --batch 1),
// the same with one red among them, and how soon after `land` is sent the
// merge is pushed and its build queued on a repository of 1,000 files.
// Requests are sent over the protocol (what `keel land` sends), one right
// after the other; landing is read from the dispatcher's land queue every
// 50 ms. The observer watches every branch, as by default, and the branches'
// own builds are done before the requests are sent, so the figures are the
// gate's.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from '../src/cli/client.js';
import type { LandSummary } from '../src/protocol/records.js';
import { startWorld, until } from './keel-world.js';
import { git, median, type Figure } from './support.js';

const TEST_S = 2;
const REQUESTS = 16;
const RUNNERS = 4;
const LATENCY_SAMPLES = 15;

interface GateSetup {
  name: string;
  batch: number;
  runners: number;
  testSeconds: number;
  bulk?: number;
}

async function startGate(setup: GateSetup) {
  const { work, dispatcher, target, built } = await startWorld({
    name: setup.name, runners: setup.runners, bulk: setup.bulk, dispatcherFlags: ['--batch', String(setup.batch)],
    test: `#!/bin/sh\nsleep ${setup.testSeconds}\nif [ -e RED ]; then exit 1; fi\n`,
  });

  /** Makes branches off main's tip, each adding its own file (RED for the red ones), pushed at once; resolves once their own builds are done. */
  const branches = async (names: string[], red: Set<string> = new Set()) => {
    git(work, 'fetch', '-q', 'origin');
    const heads: string[] = [];
    for (const name of names) {
      git(work, 'checkout', '-q', '-B', name, 'origin/main');
      writeFileSync(join(work, red.has(name) ? 'RED' : `${name}.txt`), `${name}\n`);
      git(work, 'add', '-A');
      git(work, 'commit', '-q', '-m', name);
      heads.push(git(work, 'rev-parse', 'HEAD'));
    }
    git(work, 'push', '-q', 'origin', ...names.map((name) => `${name}:refs/heads/${name}`));
    await built(heads);
  };
  const land = async (branch: string): Promise<string> => {
    const reply = await request(target, { type: 'land', branch: `refs/heads/${branch}`, target: 'refs/heads/main', project: null, priority: 0, squash: false, try: false }, 'done', { role: 'admin', name: 'bench', timeoutMs: 60_000 });
    if (!reply.ok || reply.request === null) throw new Error(`land ${branch} refused: ${reply.message}`);
    return reply.request;
  };
  const queue = async (): Promise<LandSummary[]> => (await request(target, { type: 'queue' }, 'land-queue')).requests;
  const status = () => request(target, { type: 'query', commit: null, project: null }, 'status');
  return { dispatcher, branches, land, queue, status };
}

/** Queues every branch, one right after the other; resolves with the time until each of `want` landed, and how the rest ended. */
async function landAll(gate: Awaited<ReturnType<typeof startGate>>, names: string[], want: Set<string>): Promise<{ ms: number; states: Record<string, number> }> {
  const started = performance.now();
  const ids: string[] = [];
  for (const name of names) ids.push(await gate.land(name));
  const wanted = new Set(ids.filter((_, i) => want.has(names[i]!)));
  let states: Record<string, number> = {};
  await until(async () => {
    const shown = await gate.queue();
    const ours = shown.filter((r) => ids.includes(r.id));
    states = {};
    for (const r of ours) states[r.state] = (states[r.state] ?? 0) + 1;
    return ours.filter((r) => wanted.has(r.id)).every((r) => r.state === 'landed') || ours.some((r) => wanted.has(r.id) && r.endedAt !== null && r.state !== 'landed');
  }, 'the requests to land', 10 * 60_000, 50);
  const ms = performance.now() - started;
  const shown = await gate.queue();
  const missed = shown.filter((r) => wanted.has(r.id) && r.state !== 'landed');
  if (missed.length > 0) throw new Error(`${missed.map((r) => `${r.id} ${r.state}: ${r.message}`).join('; ')}`);
  return { ms, states };
}

async function queueFigure(name: string, batch: number, red: number | null): Promise<number> {
  const gate = await startGate({ name, batch, runners: RUNNERS, testSeconds: TEST_S });
  const names = Array.from({ length: REQUESTS }, (_, i) => `b${i + 1}`);
  const reds = new Set(red === null ? [] : [names[red]!]);
  await gate.branches(names, reds);
  const { ms } = await landAll(gate, names, new Set(names.filter((n) => !reds.has(n))));
  return ms;
}


async function latencyFigure(): Promise<number[]> {
  const gate = await startGate({ name: 'gate-latency', batch: 8, runners: 1, testSeconds: 0, bulk: 1000 });
  const samples: number[] = [];
  for (let i = 0; i < LATENCY_SAMPLES; i++) {
    const name = `quick-${i}`;
    await gate.branches([name]);
    const started = performance.now();
    const id = await gate.land(name);
    // The build of the merge is known to the dispatcher: the merge was pushed and its jobs queued.
    await until(async () => (await gate.status()).builds.some((b) => b.subject.kind === 'land' && b.subject.requests.includes(id)), `the build of ${id}`);
    samples.push(performance.now() - started);
    await until(async () => (await gate.queue()).find((r) => r.id === id)?.state === 'landed', `${id} to land`);
  }
  return samples;
}

export async function measureGate(): Promise<Figure[]> {
  const testMs = TEST_S * 1000;
  const setup = `${REQUESTS} land requests sent one right after the other for main, a ${TEST_S} s test, ${RUNNERS} runners of 1 slot, each branch adding one file`;
  const batched = await queueFigure('gate-batched', 8, null);
  const serial = await queueFigure('gate-serial', 1, null);
  const withRed = await queueFigure('gate-red', 8, 4);
  const latency = await latencyFigure();
  const inTests = (ms: number) => Math.round((ms / testMs) * 10) / 10;
  return [
    {
      id: 'gate.batched', label: `${REQUESTS} green requests landed (--batch 8)`, value: inTests(batched), unit: 'test times', setup: `${setup}; ${Math.round(batched)} ms`,
      target: '≤ 3 test times', met: batched <= 3 * testMs,
    },
    { id: 'gate.serial', label: `${REQUESTS} green requests landed (--batch 1)`, value: inTests(serial), unit: 'test times', setup: `${setup}; ${Math.round(serial)} ms` },
    {
      id: 'gate.one-red', label: `${REQUESTS} requests, the 5th red: the 15 green landed (--batch 8)`, value: inTests(withRed), unit: 'test times', setup: `${setup}; ${Math.round(withRed)} ms`,
      target: '≤ 6 test times', met: withRed <= 6 * testMs,
    },
    {
      id: 'gate.land-to-queued.median', label: 'land sent → merge pushed and its build queued, median', value: Math.round(median(latency)), unit: 'ms',
      setup: `${LATENCY_SAMPLES} requests one at a time, a 1,000-file repository, an idle queue; from the land message sent (not the CLI's start) to the build known to the dispatcher`,
      target: '≤ 100 ms', met: median(latency) <= 100,
    },
  ];
}
