// A finished build said in one line, and each of its jobs in one more: what
// a git note, a commit status's description and a hook's KEEL_SUMMARY show.
// Pure, and every value from a repository or a runner has its control
// characters escaped, so a job's message cannot add a line to a note.
//
//   passed 3/3 jobs, 412 tests, 38 s
//   unit (NODE=18): failed, 2 of 200 tests failed, 20 s: 2 tests failed

import type { BuildStatus, BuildSummary, JobSummary, TestCounts } from '../protocol/records.js';
import { escapeControls } from './escape.js';

/** 0.4 s, 38 s, 4 min 12 s, 2 h 5 min. */
export function formatDuration(ms: number): string {
  if (ms < 0) return '0 s';
  if (ms < 10_000) return `${Math.round(ms / 100) / 10} s`;
  const seconds = Math.round(ms / 1000);
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ${seconds % 60} s`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

function testsPart(counts: TestCounts | null): string[] {
  if (counts === null) return [];
  const parts = [`${counts.tests} test${counts.tests === 1 ? '' : 's'}`];
  if (counts.failed > 0) parts.push(`${counts.failed} failed`);
  return parts;
}

/** `passed 3/3 jobs, 412 tests, 38 s`: the status, then jobs passed of all, tests, time. */
export function verdictLine(build: BuildSummary): string {
  const total = Object.values(build.jobs).reduce((sum, n) => sum + (n ?? 0), 0);
  const parts = [`${build.status} ${build.jobs.passed ?? 0}/${total} job${total === 1 ? '' : 's'}`, ...testsPart(build.counts)];
  if (build.durationMs !== null) parts.push(formatDuration(build.durationMs));
  if (build.flaky) parts.push('flaky');
  if (build.run > 1) parts.push(`run ${build.run}`);
  const line = parts.join(', ');
  // A build with no jobs (keel.json could not be used) has only its note to say why.
  return total === 0 && build.note !== '' ? `${line}: ${escapeControls(build.note)}` : line;
}

/** `unit (NODE=18): failed, 2 of 200 tests failed, 20 s: <why>`. */
export function jobLine(job: JobSummary): string {
  return `${escapeControls(job.title)}: ${jobDetails(job)}`;
}

/** A job's line without its title: `failed, 2 of 200 tests failed, 20 s: <why>`. */
export function jobDetails(job: Omit<JobSummary, 'name' | 'title'>): string {
  const parts: string[] = [job.status];
  if (job.counts !== null) {
    const { tests, failed } = job.counts;
    parts.push(failed > 0 ? `${failed} of ${tests} tests failed` : `${tests} test${tests === 1 ? '' : 's'}`);
  }
  if (job.durationMs !== null) parts.push(formatDuration(job.durationMs));
  if (job.flaky) parts.push('flaky');
  const why = job.status !== 'passed' && job.note !== '' ? `: ${escapeControls(job.note)}` : '';
  return `${parts.join(', ')}${why}`;
}

/** Whether a status is a verdict on the code (passed, failed) or on the build (error), not a build that never ran. */
export function isVerdict(status: BuildStatus): boolean {
  return status === 'passed' || status === 'failed' || status === 'error';
}
