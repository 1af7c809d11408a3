// Commit → test process started, and commit → result file: the delay a
// developer feels. Instant detection pushes one commit at a time and waits
// for its result, so each figure is the unloaded pipeline. Polling pushes a
// commit every second or so (jittered, so pushes land anywhere between two
// polls) to a runner with several slots; a serial run would take a poll
// interval per sample.

import { delay, median, percentile, type Figure } from './support.js';
import { startPipeline, type Timing } from './pipeline.js';

const COMMITS = 20;

export async function measureInstantLatency(): Promise<Figure[]> {
  const pipeline = await startPipeline({ name: 'instant', detection: 'instant', intervalS: 5 });
  const timings: Timing[] = [];
  const pushes: number[] = [];
  for (let i = 0; i < COMMITS; i++) {
    const { sha, landedAt, pushMs } = pipeline.push();
    pushes.push(pushMs);
    timings.push(await pipeline.result(sha, landedAt));
  }
  const setup = `${COMMITS} commits one at a time, local bare origin watched (fs.watch), 5 s polling as fallback, 1 runner, test = one sh + date; from the branch ref landing in the origin`;
  return [
    ...figures('instant', timings, setup, 100),
    { id: 'latency.git-push.median', label: 'git push itself, before the ref lands (not counted above), median', value: Math.round(median(pushes)), unit: 'ms', setup: 'the same pushes to the local bare origin' },
  ];
}

export async function measurePollingLatency(intervalS = 5): Promise<Figure[]> {
  const pipeline = await startPipeline({ name: 'poll', detection: 'poll', intervalS, slots: 4 });
  const pushed: Array<{ sha: string; landedAt: number }> = [];
  for (let i = 0; i < COMMITS; i++) {
    pushed.push(pipeline.push());
    await delay(500 + Math.random() * 1000);
  }
  const timings = await Promise.all(pushed.map(({ sha, landedAt }) => pipeline.result(sha, landedAt)));
  const setup = `${COMMITS} commits ~1 s apart, file:// origin (not watched), --interval ${intervalS}, 1 runner with 4 slots`;
  return figures('poll', timings, setup, null);
}

function figures(mode: string, timings: Timing[], setup: string, targetMs: number | null): Figure[] {
  const started = timings.map((t) => t.testStartedAt - t.landedAt);
  const finished = timings.map((t) => t.resultAt - t.landedAt);
  const startMedian = Math.round(median(started));
  return [
    {
      id: `latency.${mode}.test-start.median`, label: `commit → test started, median (${mode})`, value: startMedian, unit: 'ms', setup,
      ...(targetMs === null ? {} : { target: `≤ ${targetMs} ms`, met: startMedian <= targetMs }),
    },
    { id: `latency.${mode}.test-start.p95`, label: `commit → test started, p95 (${mode})`, value: Math.round(percentile(started, 95)), unit: 'ms', setup },
    { id: `latency.${mode}.result.median`, label: `commit → result file, median (${mode})`, value: Math.round(median(finished)), unit: 'ms', setup },
    { id: `latency.${mode}.result.p95`, label: `commit → result file, p95 (${mode})`, value: Math.round(percentile(finished, 95)), unit: 'ms', setup },
  ];
}
