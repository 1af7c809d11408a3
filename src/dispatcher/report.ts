// The human-readable report, test_results/<sha>: what a person reads first.

import type { BuildRecord, JobRecord, TestCounts } from '../protocol/records.js';

export const MAX_OUTPUT_IN_REPORT = 64 * 1024;

export interface LogTail {
  job: string;
  text: string;
  /** Bytes of the log before `text`. */
  omitted: number;
}

function formatDuration(ms: number | null): string {
  if (ms === null) return '-';
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`;
}

export function formatCounts(counts: TestCounts | null): string {
  if (!counts) return 'not known';
  return `${counts.tests} tests, ${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped`;
}

function formatJob(job: JobRecord): string[] {
  const env = Object.entries(job.spec.env).map(([name, value]) => `${name}=${value}`).join(' ');
  const lines = [
    `job ${job.spec.title}: ${job.status.toUpperCase()}${job.flaky ? ' (FLAKY: passed on a retry)' : ''}`,
    `  command:  ${job.command.length > 0 ? job.command.join(' ; ') : '-'}`,
    ...(env ? [`  env:      ${env}`] : []),
    ...(job.spec.labels.length ? [`  labels:   ${job.spec.labels.join(', ')}`] : []),
    `  runner:   ${job.runner ?? '-'}`,
    `  attempts: ${job.attempts.length}`,
    `  exit:     ${job.exitCode ?? '-'}${job.signal ? ` (signal ${job.signal})` : ''}${job.timedOut ? ' (timed out)' : ''}`,
    `  duration: ${formatDuration(job.durationMs)}`,
    `  tests:    ${formatCounts(job.counts)}`,
    `  log:      ${job.log}${job.junit ? `, JUnit ${job.junit}` : ''}`,
  ];
  if (job.message) lines.push(`  reason:   ${job.message}`);
  for (const name of job.failedTests) lines.push(`  failed test: ${name}`);
  for (const attempt of job.attempts) {
    const why = attempt.message ? ` - ${attempt.message}` : '';
    lines.push(`  attempt ${attempt.attempt} on ${attempt.runner}: ${attempt.status}${why}`);
  }
  return lines;
}

/** Renders the report with the tail of each job's log. */
export function renderReport(build: BuildRecord, tails: LogTail[]): string {
  const outputs = tails.flatMap(({ job, text, omitted }) => [
    tails.length > 1 ? `--- output of ${job} ---` : '--- output ---',
    omitted > 0 ? `[... ${omitted} earlier bytes in the log file ...]\n${text}` : text,
  ]);
  return [
    `commit:   ${build.commit}`,
    `status:   ${build.status.toUpperCase()}${build.flaky ? ' (flaky)' : ''}`,
    ...(build.project ? [`project:  ${build.project}`] : []),
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
    ...outputs,
  ].join('\n');
}
