// The one-line progress of `keel logs` on a terminal: `3/5 jobs done, 1
// running, 12 s`. Pure, from the build's summary and the clock.

import type { BuildStatus, BuildSummary } from '../protocol/records.js';

const FINISHED: readonly BuildStatus[] = ['passed', 'failed', 'error', 'cancelled', 'skipped'];

export function formatProgress(build: BuildSummary, now: number): string {
  const total = Object.values(build.jobs).reduce((sum, n) => sum + (n ?? 0), 0);
  const done = FINISHED.reduce((sum, status) => sum + (build.jobs[status] ?? 0), 0);
  const running = build.jobs.running ?? 0;
  const since = build.startedAt ?? build.queuedAt;
  const ms = build.durationMs ?? Math.max(0, now - Date.parse(since));
  const parts = [`${done}/${total} job${total === 1 ? '' : 's'} done`, ...(running > 0 ? [`${running} running`] : []), `${Math.round(ms / 1000)} s`];
  if (FINISHED.includes(build.status)) parts.push(build.status);
  return parts.join(', ');
}

/** Prefixes each line of `text` with `[job] ` (for a build of several jobs), keeping a job's unfinished line until it ends. */
export class JobLines {
  private readonly partial = new Map<string, string>();

  constructor(private prefix: boolean) {}

  /** From now on every line is prefixed (a generator's jobs joined the build). */
  several(): void {
    this.prefix = true;
  }

  /** The whole lines `text` completes for `job`, ready to print. */
  push(job: string, text: string): string {
    if (!this.prefix) return text;
    const pieces = (this.partial.get(job) ?? '') + text;
    const cut = pieces.lastIndexOf('\n') + 1;
    this.partial.set(job, pieces.slice(cut));
    return pieces.slice(0, cut).split('\n').slice(0, -1).map((line) => `[${job}] ${line}\n`).join('');
  }

  /** What is left unfinished of every job, at the end. */
  flush(): string {
    const rest = [...this.partial].filter(([, text]) => text !== '').map(([job, text]) => (this.prefix ? `[${job}] ${text}\n` : text));
    this.partial.clear();
    return rest.join('');
  }
}
