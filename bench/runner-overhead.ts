// What a job costs beyond its test, on a repository of about 1,000 files:
// fetch into the runner's mirror, `git worktree add`, choosing and spawning
// the test, removing the worktree, and the round trips to the dispatcher.
// Measured by the dispatcher's own record: the attempt's duration (from
// assignment to result) minus the test's duration as the runner timed it.

import { median, percentile, type Figure } from './support.js';
import { startPipeline } from './pipeline.js';

const COMMITS = 20;
const FILES = 1000;

function bulk(): Record<string, string> {
  const files: Record<string, string> = {};
  for (let i = 0; i < FILES; i++) {
    files[`src/dir${i % 20}/file${i}.txt`] = `file ${i}\n${'x'.repeat(200 + (i % 7) * 300)}\n`;
  }
  return files;
}

export async function measureRunnerOverhead(): Promise<Figure[]> {
  const pipeline = await startPipeline({ name: 'overhead', detection: 'instant', intervalS: 5, files: bulk() });
  const overheads: number[] = [];
  for (let i = 0; i < COMMITS; i++) {
    const { sha, landedAt } = pipeline.push();
    const { record } = await pipeline.result(sha, landedAt);
    const job = record.jobs[0]!;
    overheads.push(job.attempts.at(-1)!.durationMs - job.durationMs);
  }
  const setup = `${COMMITS} jobs on a ${FILES + 1}-file repository, one file changed per commit, mirror already cloned; attempt duration − test duration`;
  const value = median(overheads);
  return [
    { id: 'runner.overhead.median', label: 'runner overhead per job, median', value, unit: 'ms', setup, target: '≤ 150 ms', met: value <= 150 },
    { id: 'runner.overhead.p95', label: 'runner overhead per job, p95', value: percentile(overheads, 95), unit: 'ms', setup },
  ];
}
