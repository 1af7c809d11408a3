// Small formatting for pages: durations, times, statuses as words and CSS
// classes. Pure, so pages render the same way everywhere.

import type { BuildStatus, Subject } from '../../protocol/records.js';

export function formatDuration(ms: number | null): string {
  if (ms === null) return '–';
  if (ms < 1000) return `${Math.max(0, Math.round(ms))} ms`;
  const seconds = Math.round(ms / 1000);
  if (seconds < 60) return `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ${seconds % 60} s`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

/** An ISO time as people read it in a table: 2026-11-22 14:03:07 UTC. */
export function formatTime(iso: string | null): string {
  if (iso === null) return '–';
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)} UTC`;
}

/** "3 min ago", from `now`. */
export function formatAgo(iso: string | null, now: number): string {
  if (iso === null) return '–';
  const seconds = Math.floor((now - Date.parse(iso)) / 1000);
  if (!(seconds >= 0)) return formatTime(iso);
  if (seconds < 60) return `${seconds} s ago`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)} h ago`;
  return formatTime(iso);
}

/** The word a status is shown as: passing builds say "passed". */
export const STATUS_WORDS: Record<BuildStatus, string> = {
  queued: 'queued', running: 'running', passed: 'passed', failed: 'failed', error: 'error', cancelled: 'cancelled', skipped: 'skipped',
};

/** What made the build: a push, or a request of the gate or the patch queue. */
export function formatSubject(subject: Subject): string {
  if (subject.kind === 'push') return 'push';
  return `${subject.kind}${subject.request ? ` ${subject.request}` : ''}`;
}

export const shortSha = (commit: string) => commit.slice(0, 10);

/** refs/heads/main is shown as main; other refs whole. */
export function branchName(ref: string): string {
  return ref.startsWith('refs/heads/') ? ref.slice('refs/heads/'.length) : ref;
}
