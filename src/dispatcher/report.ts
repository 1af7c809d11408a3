// The human-readable report, test_results/<sha>: what a person reads first.

import type { BuildRecord, JobRecord, TestCounts } from '../protocol/records.js';

export const MAX_OUTPUT_IN_REPORT = 64 * 1024;

function formatDuration(ms: number | null): string {
  if (ms === null) return '-';
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`;
}

export function formatCounts(counts: TestCounts | null): string {
  if (!counts) return 'not known';
  return `${counts.tests} tests, ${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped`;
}

function formatJob(job: JobRecord): string[] {
  const lines = [
    `job ${job.name}: ${job.status.toUpperCase()}`,
    `  command:  ${job.command.length > 0 ? job.command.join(' ; ') : '-'}`,
    `  runner:   ${job.runner ?? '-'}`,
    `  attempts: ${job.attempts.length}`,
    `  exit:     ${job.exitCode ?? '-'}${job.signal ? ` (signal ${job.signal})` : ''}${job.timedOut ? ' (timed out)' : ''}`,
    `  duration: ${formatDuration(job.durationMs)}`,
    `  tests:    ${formatCounts(job.counts)}`,
  ];
  if (job.message) lines.push(`  reason:   ${job.message}`);
  for (const attempt of job.attempts) {
    const why = attempt.message ? ` - ${attempt.message}` : '';
    lines.push(`  attempt ${attempt.attempt} on ${attempt.runner}: ${attempt.status}${why}`);
  }
  return lines;
}

/** Renders the report with the tail of the build log; `omitted` bytes came before it. */
export function renderReport(build: BuildRecord, tail: string, omitted: number): string {
  const shown = omitted > 0 ? `[... ${omitted} earlier bytes in ${build.commit}.log ...]\n${tail}` : tail;
  return [
    `commit:   ${build.commit}`,
    `status:   ${build.status.toUpperCase()}`,
    `ref:      ${build.ref}`,
    `repo:     ${build.repo}`,
    `runner:   ${build.runner ?? '-'}`,
    `attempts: ${build.attempts}`,
    `queued:   ${build.queuedAt}`,
    `started:  ${build.startedAt ?? '-'}`,
    `ended:    ${build.endedAt ?? '-'}`,
    `duration: ${formatDuration(build.durationMs)}`,
    `tests:    ${formatCounts(build.counts)}`,
    ...(build.message ? [`reason:   ${build.message}`] : []),
    '',
    ...build.jobs.flatMap((job) => [...formatJob(job), '']),
    '--- output ---',
    shown,
  ].join('\n');
}
