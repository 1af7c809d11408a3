// The status page's figures:
//   sse        a line a test writes → seen by a client following its log
//              (real dispatcher and runner processes, a real test script
//              that stamps each line with the time it wrote it);
//   pages      the overview's and a build page's response time with 10,000
//              finished builds on record (50 no-op fake runners made them);
//   followers  what 100 clients following logs cost while 50 fake runners
//              stream output: the dispatcher's CPU and the worst gap between
//              the pings its runners get, against the same run without them.

import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MAX_OUTPUT_CHUNK } from '../src/protocol/messages.js';
import { makeBenchRepo } from './bench-repo.js';
import { FakePeer, passedOutcome } from './fake-peer.js';
import { startNoopFarm } from './noop-farm.js';
import { readEvents, timedGet, type EventReader } from './sse-client.js';
import { delay, git, median, percentile, readProc, startDispatcher, startKeel, tempDir, waitUntil, type Figure } from './support.js';

const LINES = 200;
const BUILDS = 10_000;
const SAMPLES = 30;
const STREAMERS = 50;
const FOLLOWERS = 100;
const STREAM_S = 10;
const round = (n: number) => Math.round(n * 10) / 10;

export async function measureLiveLogLatency(): Promise<Figure[]> {
  const dir = tempDir('sse');
  const repo = join(dir, 'repo');
  mkdirSync(join(repo, 'tests'), { recursive: true });
  git(dir, 'init', '-q', '-b', 'main', repo);
  // Each line says when the test wrote it (ms since the epoch), 20 ms apart.
  writeFileSync(join(repo, 'tests', 'run.sh'), `#!/bin/sh\ni=0\nwhile [ $i -lt ${LINES} ]; do i=$((i+1)); echo "line $i $(date +%s%3N)"; sleep 0.02; done\n`, { mode: 0o755 });
  git(repo, 'add', '-A');
  git(repo, 'commit', '-q', '-m', 'stamped lines');
  const sha = git(repo, 'rev-parse', 'HEAD');
  const dispatcher = await startDispatcher(dir);
  const runner = startKeel('runner/main.js', ['--dispatcher', `127.0.0.1:${dispatcher.port}`, '--name', 'sse', '--workdir', join(dir, 'runner')]);
  await runner.waitForLine(/registered/);
  const observer = await FakePeer.observer(dispatcher.port, 'sse-observer', repo);
  observer.send({ type: 'commit', commit: sha, ref: 'refs/heads/main' });
  await waitUntil(() => dispatcher.lines.some((line) => line.includes(`queued ${sha}`)), 'the build queued');
  const latencies: number[] = [];
  let ended = false;
  let partial = '';
  const reader = await readEvents(dispatcher.httpPort!, `/builds/${sha}/log?follow=1`, (event, data) => {
    const now = Date.now();
    if (event === 'end') ended = true;
    if (event !== 'log') return;
    const text = partial + (JSON.parse(data) as { text: string }).text;
    const lines = text.split('\n');
    partial = lines.pop()!;
    for (const line of lines) {
      const match = /^line \d+ (\d{13})$/.exec(line);
      if (match) latencies.push(now - Number(match[1]));
    }
  });
  await waitUntil(() => ended, 'the end of the job', 120_000, 20);
  reader.close();
  observer.close();
  const setup = `${LINES} lines from a real test (sh, one every 20 ms, each stamped by \`date\`), through a real runner and dispatcher, to one SSE client of /builds/<sha>/log?follow=1`;
  const middle = Math.round(median(latencies));
  return [
    { id: 'status-page.sse.median', label: 'line written by a test → seen by an SSE client of its log, median', value: middle, unit: 'ms', setup, target: '≤ 100 ms', met: middle <= 100 },
    { id: 'status-page.sse.p95', label: 'line written by a test → seen by an SSE client of its log, p95', value: Math.round(percentile(latencies, 95)), unit: 'ms', setup },
  ];
}

/** Times `SAMPLES` GETs of each path (from `paths()`), 300 ms apart so no answer is a reused one. */
async function timePaths(port: number, paths: () => string): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < SAMPLES; i++) {
    const { ms, status } = await timedGet(port, paths());
    if (status !== 200) throw new Error(`a page answered ${status}`);
    times.push(ms);
    await delay(300);
  }
  return times;
}

export async function measurePages(): Promise<Figure[]> {
  const dir = tempDir('pages');
  const dispatcher = await startDispatcher(dir);
  const farm = await startNoopFarm(dispatcher.port, STREAMERS);
  for (let done = 0; done < BUILDS; done += 500) await farm.build(500);
  await farm.written(dispatcher.results, BUILDS);
  const shas = readdirSync(dispatcher.results).filter((name) => /^[0-9a-f]{40}$/.test(name));
  const port = dispatcher.httpPort!;
  // The first of each costs a little more (modules warm up); it is left out.
  await timedGet(port, '/');
  await timedGet(port, `/builds/${shas[0]}`);
  const overview = await timePaths(port, () => '/');
  const build = await timePaths(port, () => `/builds/${shas[Math.floor(Math.random() * shas.length)]}`);
  const branch = await timePaths(port, () => '/branches/main');
  farm.close();
  const setup = `${BUILDS.toLocaleString('en')} finished builds on record (${STREAMERS} no-op fake runners), dispatcher idle; ${SAMPLES} sequential GETs each, 300 ms apart, time to the last byte`;
  const figure = (id: string, label: string, times: number[], target: number | null): Figure[] => {
    const middle = round(median(times));
    return [
      { id: `status-page.${id}.median`, label: `${label}, median`, value: middle, unit: 'ms', setup, ...(target === null ? {} : { target: `≤ ${target} ms`, met: middle <= target }) },
      { id: `status-page.${id}.p95`, label: `${label}, p95`, value: round(percentile(times, 95)), unit: 'ms', setup },
    ];
  };
  return [
    ...figure('overview', 'overview page (/)', overview, 20),
    ...figure('build', 'build page (/builds/<sha>, a random finished build: its result file and commit read)', build, 20),
    ...figure('branch', 'branch page (/branches/main, 50 builds from the index)', branch, null),
  ];
}

interface StreamRun {
  cpuPercent: number;
  worstGapMs: number;
  deliveredMb: number;
  sentMb: number;
}

/** 50 fake runners stream output for STREAM_S seconds while `followers` clients follow their logs. */
async function streamRun(followers: number): Promise<StreamRun> {
  const dir = tempDir(`followers-${followers}`);
  const dispatcher = await startDispatcher(dir, ['--heartbeat', '0.5', '--deadline', '1.5', '--http-max-clients', String(FOLLOWERS + 10)]);
  const repo = makeBenchRepo(tempDir(`followers-repo-${followers}`));
  const pings: number[][] = [];
  const jobs: Array<{ runner: FakePeer; lease: string; commit: string }> = [];
  const runners: FakePeer[] = [];
  for (let i = 0; i < STREAMERS; i++) {
    const seen: number[] = [];
    pings.push(seen);
    runners.push(await FakePeer.runner(dispatcher.port, `streamer-${i}`, {
      onPing: () => seen.push(performance.now()),
      onJob: (job, peer) => jobs.push({ runner: peer, lease: job.lease, commit: job.commit }),
    }));
  }
  const observer = await FakePeer.observer(dispatcher.port, 'followers-observer', repo.path);
  for (const commit of repo.commits(STREAMERS)) observer.send({ type: 'commit', commit, ref: 'refs/heads/main' });
  await waitUntil(() => jobs.length === STREAMERS, 'every runner with a job', 60_000, 10);
  let delivered = 0;
  const readers: EventReader[] = [];
  for (let i = 0; i < followers; i++) {
    readers.push(await readEvents(dispatcher.httpPort!, `/builds/${jobs[i % STREAMERS]!.commit}/log?follow=1`, (_event, data) => (delivered += data.length)));
  }
  // 2 KiB of output per runner every 20 ms: 5 MB/s in all, in lines as a test writes them.
  const chunk = `${'x'.repeat(200)}\n`.repeat(10);
  const before = readProc(dispatcher.pid).cpuMs;
  const started = performance.now();
  let sent = 0;
  const timer = setInterval(() => {
    for (const { runner, lease } of jobs) {
      runner.send({ type: 'output', lease, stream: 'stdout', data: chunk.slice(0, MAX_OUTPUT_CHUNK) });
      sent += chunk.length;
    }
  }, 20);
  await delay(STREAM_S * 1000);
  clearInterval(timer);
  const ended = performance.now();
  const cpuPercent = ((readProc(dispatcher.pid).cpuMs - before) / (ended - started)) * 100;
  let worstGapMs = 0;
  for (const seen of pings) {
    const during = [started, ...seen.filter((t) => t >= started && t <= ended), ended];
    for (let i = 1; i < during.length; i++) worstGapMs = Math.max(worstGapMs, during[i]! - during[i - 1]!);
  }
  for (const { runner, lease } of jobs) runner.send({ type: 'result', lease, outcome: passedOutcome() });
  for (const reader of readers) reader.close();
  for (const peer of [...runners, observer]) peer.close();
  return { cpuPercent, worstGapMs, deliveredMb: delivered / 1024 / 1024, sentMb: sent / 1024 / 1024 };
}

export async function measureFollowers(): Promise<Figure[]> {
  const alone = await streamRun(0);
  const followed = await streamRun(FOLLOWERS);
  const setup = (run: StreamRun, followers: number) => `${STREAMERS} fake runners streaming 2 KiB each every 20 ms for ${STREAM_S} s (${round(run.sentMb)} MB), ${followers} SSE clients following their logs (2 per log)${followers ? `, ${round(run.deliveredMb)} MB delivered as events` : ''}; --heartbeat 0.5 --deadline 1.5`;
  return [
    { id: 'status-page.followers.cpu.without', label: 'dispatcher CPU while 50 runners stream output, no followers', value: round(alone.cpuPercent), unit: '% of a core', setup: setup(alone, 0) },
    { id: 'status-page.followers.cpu.with', label: 'dispatcher CPU while 50 runners stream output, 100 followers', value: round(followed.cpuPercent), unit: '% of a core', setup: setup(followed, FOLLOWERS) },
    { id: 'status-page.followers.ping-gap.without', label: 'worst gap between pings, no followers', value: Math.round(alone.worstGapMs), unit: 'ms', setup: setup(alone, 0), target: '≤ 1500 ms (deadline)', met: alone.worstGapMs <= 1500 },
    { id: 'status-page.followers.ping-gap.with', label: 'worst gap between pings, 100 followers', value: Math.round(followed.worstGapMs), unit: 'ms', setup: setup(followed, FOLLOWERS), target: '≤ 1500 ms (deadline)', met: followed.worstGapMs <= 1500 },
  ];
}
