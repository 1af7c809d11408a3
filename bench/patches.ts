// The patches' figures, with the real processes on a real repository of
// 1,000 files: `keel patch` of a 10-patch series → applied and its build
// queued (the patch message sent to the build known to the dispatcher), and
// 200 open patches with a trunk that advances by one commit → all 200
// applied again and queued, with the dispatcher's and observer's peak RSS.

import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from '../src/cli/client.js';
import type { Message } from '../src/protocol/messages.js';
import { LIMITS } from '../src/protocol/limits.js';
import { startWorld, until } from './keel-world.js';
import { git, median, readProc, type Figure } from './support.js';

const SERIES_SAMPLES = 10;
const OPEN_PATCHES = 200;

type World = Awaited<ReturnType<typeof startWorld>>;

/** A series of `parts` patches off main's tip, each adding a file of its own. */
function series(world: World, name: string, parts: number): Buffer {
  git(world.work, 'fetch', '-q', 'origin');
  git(world.work, 'checkout', '-q', '-B', name, 'origin/main');
  for (let i = 0; i < parts; i++) {
    writeFileSync(join(world.work, `${name}-${i}.txt`), `${name} ${i}\n`);
    git(world.work, 'add', '-A');
    git(world.work, 'commit', '-q', '-m', `${name}: part ${i + 1}`);
  }
  return Buffer.from(git(world.work, 'format-patch', '--stdout', `origin/main..${name}`));
}

async function submit(world: World, bytes: Buffer): Promise<string> {
  const messages: Message[] = [{ type: 'patch', project: null, base: null, author: null, subject: null, bytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') }];
  for (let at = 0; at < bytes.length; at += LIMITS.patchChunk) messages.push({ type: 'patch-data', data: bytes.subarray(at, at + LIMITS.patchChunk).toString('base64') });
  const reply = await request(world.target, messages, 'done', { role: 'admin', name: 'bench', timeoutMs: 60_000 });
  if (!reply.ok || reply.request === null) throw new Error(`keel patch refused: ${reply.message}`);
  return reply.request;
}

const patchBuilds = async (world: World) => (await request(world.target, { type: 'query', commit: null, project: null }, 'status')).builds.filter((b) => b.subject.kind === 'patch');
const patchList = async (world: World) => (await request(world.target, {
  type: 'patches', project: null, anyProject: true, state: null, flags: [], touchesNone: [], brokenByTrunk: false, sinceMs: null,
}, 'patch-list')).patches;

async function seriesLatency(): Promise<number[]> {
  const world = await startWorld({ name: 'patch-latency', runners: 1, bulk: 1000, test: '#!/bin/sh\nexit 0\n' });
  const samples: number[] = [];
  for (let i = 0; i < SERIES_SAMPLES; i++) {
    const bytes = series(world, `s${i}`, 10);
    const started = performance.now();
    const id = await submit(world, bytes);
    await until(async () => (await patchBuilds(world)).some((b) => b.subject.request === id), `the build of ${id}`);
    samples.push(performance.now() - started);
    await until(async () => (await patchList(world)).find((p) => p.id === id)?.state === 'passed', `${id} to pass`, 60_000, 20);
  }
  return samples;
}

async function retestAll(): Promise<{ ms: number; dispatcherMb: number; observerMb: number }> {
  const world = await startWorld({
    name: 'patch-retest', runners: 4, bulk: 1000, test: '#!/bin/sh\nexit 0\n', dispatcherFlags: ['--max-retests', String(OPEN_PATCHES)],
  });
  for (let i = 0; i < OPEN_PATCHES; i++) await submit(world, series(world, `p${i}`, 1));
  await until(async () => (await patchList(world)).filter((p) => p.state === 'passed').length === OPEN_PATCHES, 'every patch to pass', 20 * 60_000, 200);
  let peak = { dispatcherMb: 0, observerMb: 0 };
  const sampler = setInterval(() => {
    peak = {
      dispatcherMb: Math.max(peak.dispatcherMb, readProc(world.dispatcher.pid).rssMb),
      observerMb: Math.max(peak.observerMb, readProc(world.observer.pid).rssMb),
    };
  }, 100);
  git(world.work, 'checkout', '-q', '-B', 'main', 'origin/main');
  writeFileSync(join(world.work, 'trunk.txt'), 'trunk moves\n');
  git(world.work, 'add', '-A');
  git(world.work, 'commit', '-q', '-m', 'trunk moves');
  const started = performance.now();
  git(world.work, 'push', '-q', 'origin', 'main');
  // Applied again and queued: each has a second application with its commit made.
  await until(async () => (await patchList(world)).filter((p) => p.latest?.purpose === 'retest' && p.latest.applied !== null).length === OPEN_PATCHES,
    'every patch to be applied again', 20 * 60_000, 100);
  const ms = performance.now() - started;
  clearInterval(sampler);
  return { ms, ...peak };
}

export async function measurePatches(): Promise<Figure[]> {
  const latency = await seriesLatency();
  const retest = await retestAll();
  return [
    {
      id: 'patches.series-to-queued.median', label: 'keel patch of a 10-patch series → applied and queued, median', value: Math.round(median(latency)), unit: 'ms',
      setup: `${SERIES_SAMPLES} series one at a time, a 1,000-file repository; from the patch message sent (not the CLI's start) to its build known to the dispatcher`,
      target: '≤ 300 ms', met: median(latency) <= 300,
    },
    {
      id: 'patches.retest-200', label: `${OPEN_PATCHES} open patches, trunk +1 commit → all applied again and queued`, value: Math.round(retest.ms), unit: 'ms',
      setup: `${OPEN_PATCHES} one-patch series that passed, --max-retests ${OPEN_PATCHES}, 4 runners, a 1,000-file repository; from the trunk's push`,
    },
    { id: 'patches.retest-200.dispatcher-rss', label: 'dispatcher peak RSS meanwhile', value: Math.round(retest.dispatcherMb), unit: 'MB', setup: 'the same' },
    { id: 'patches.retest-200.observer-rss', label: 'observer peak RSS meanwhile', value: Math.round(retest.observerMb), unit: 'MB', setup: 'the same' },
  ];
}
