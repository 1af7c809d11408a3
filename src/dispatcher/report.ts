// The human-readable report, test_results/<sha>: what a person reads first.
// Every value from a repository or a runner is printed with its control
// characters escaped, so a newline in an env value cannot add a line (a
// second `status:`) to the report; only the output tails are shown as they are.

import { escapeControls } from '../common/escape.js';
import type { BuildRecord, JobRecord, SecretGrant, TestCounts } from '../protocol/records.js';
import type { LostRange } from './file-appender.js';
import { shoutedVerdict, whoRan } from './verdict.js';

export const MAX_OUTPUT_IN_REPORT = 64 * 1024;

export interface LogTail {
  job: string;
  text: string;
  /** Bytes of the log before `text`. */
  omitted: number;
  /** Output that never reached the log file. */
  lost: LostRange[];
}

export { escapeControls };

const e = escapeControls;

function formatLost(lost: LostRange[]): string[] {
  return lost.map(({ from, to, why }) => `  log gap:  bytes ${from}–${to} lost: ${e(why)}`);
}

function formatDuration(ms: number | null): string {
  if (ms === null) return '-';
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`;
}

export function formatCounts(counts: TestCounts | null): string {
  if (!counts) return 'not known';
  return `${counts.tests} tests, ${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped`;
}

/** "A given; B withheld: why": names only, never values. */
export function formatGrant({ granted, withheld, reason }: SecretGrant): string {
  return [
    ...(granted.length > 0 ? [`${granted.join(', ')} given`] : []),
    ...(withheld.length > 0 ? [`${withheld.join(', ')} withheld: ${e(reason)}`] : []),
  ].join('; ');
}

function formatJob(job: JobRecord, lost: LostRange[], printed: string[]): string[] {
  const env = Object.entries(job.spec.env).map(([name, value]) => `${name}=${e(value)}`).join(' ');
  const lines = [
    `job ${e(job.spec.title)}: ${job.status.toUpperCase()}${job.flaky ? ' (FLAKY: passed on a retry)' : ''}`,
    `  command:  ${job.command.length > 0 ? e(job.command.join(' ; ')) : '-'}`,
    ...(env ? [`  env:      ${env}`] : []),
    ...(job.spec.labels.length ? [`  labels:   ${job.spec.labels.join(', ')}`] : []),
    ...(job.secrets ? [`  secrets:  ${formatGrant(job.secrets)}`] : []),
    ...(job.spec.generated ? ['  from:     the generator (kept with the build: a retry runs it again without the generator)'] : []),
    `  runner:   ${job.runner ?? '-'}`,
    `  attempts: ${job.attempts.length}`,
    `  exit:     ${job.exitCode ?? '-'}${job.signal ? ` (signal ${job.signal})` : ''}${job.timedOut ? ' (timed out)' : ''}`,
    `  duration: ${formatDuration(job.durationMs)}`,
    `  tests:    ${formatCounts(job.counts)}`,
    `  log:      ${job.log}${job.junit ? `, JUnit ${job.junit}` : ''}`,
  ];
  if (job.spec.generator && printed.length > 0) lines.push(`  printed:  ${printed.length} job${printed.length === 1 ? '' : 's'}: ${printed.join(', ')}`);
  lines.push(...formatLost(lost));
  if (job.message) lines.push(`  reason:   ${e(job.message)}`);
  for (const name of job.failedTests) lines.push(`  failed test: ${e(name)}`);
  lines.push(...formatArtifacts(job));
  for (const attempt of job.attempts) {
    const why = attempt.message ? ` - ${e(attempt.message)}` : '';
    lines.push(`  attempt ${attempt.attempt} on ${attempt.runner}: ${attempt.status}${why}`);
  }
  return lines;
}

/** Artifact files a report or page lists by name; the JSON has them all. */
export const SHOWN_ARTIFACTS = 20;

/** What a job's artifacts hold, and what was left out of them. */
function formatArtifacts(job: JobRecord): string[] {
  const kept = job.artifacts;
  if (!kept) return [];
  const bytes = kept.files.reduce((sum, file) => sum + file.bytes, 0);
  const lines = [`  artifacts: ${kept.dir ? `${kept.dir}/ (${kept.files.length} file${kept.files.length === 1 ? '' : 's'}, ${formatBytes(bytes)})` : 'none kept'}`];
  for (const file of kept.files.slice(0, SHOWN_ARTIFACTS)) lines.push(`    ${e(file.path)} (${formatBytes(file.bytes)})`);
  if (kept.files.length > SHOWN_ARTIFACTS) lines.push(`    … and ${kept.files.length - SHOWN_ARTIFACTS} more (all in the JSON)`);
  for (const note of kept.notes) lines.push(`  artifacts note: ${e(note)}`);
  return lines;
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  return bytes < 1024 * 1024 ? `${(bytes / 1024).toFixed(1)} KiB` : `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

function formatSubject(build: BuildRecord): string[] {
  const { kind, request, requests, base } = build.subject;
  if (kind === 'push') return [];
  const what = [request, ...(requests.length > 0 ? [`(${requests.join(', ')})`] : [])].filter((part) => part !== null).join(' ');
  return [`tested:   as ${kind}${what ? ` for ${what}` : ''}${base ? ` on ${base}` : ''}`];
}

/** Renders the report with the tail of each job's log. */
export function renderReport(build: BuildRecord, tails: LogTail[]): string {
  const printed = build.jobs.filter((job) => job.spec.generated).map((job) => job.name);
  const outputs = tails.flatMap(({ job, text, omitted }) => [
    tails.length > 1 ? `--- output of ${job} ---` : '--- output ---',
    omitted > 0 ? `[... ${omitted} earlier bytes in the log file ...]\n${text}` : text,
  ]);
  return [
    `commit:   ${build.commit}`,
    `status:   ${shoutedVerdict(build)}`,
    ...(build.project ? [`project:  ${build.project}`] : []),
    ...formatSubject(build),
    `ref:      ${e(build.ref)}`,
    `repo:     ${e(build.repo)}`,
    ...(build.run > 1 ? [`run:      ${build.run}`] : []),
    ...whoRan(build).map(([label, value]) => `${`${label}:`.padEnd(9)} ${value}`),
    `queued:   ${build.queuedAt}`,
    `started:  ${build.startedAt ?? '-'}`,
    `ended:    ${build.endedAt ?? '-'}`,
    `duration: ${formatDuration(build.durationMs)}`,
    `tests:    ${formatCounts(build.counts)}`,
    ...(build.message ? [`reason:   ${e(build.message)}`] : []),
    '',
    ...build.jobs.flatMap((job) => [...formatJob(job, tails.find((tail) => tail.job === job.name)?.lost ?? [], printed), '']),
    ...outputs,
  ].join('\n');
}
