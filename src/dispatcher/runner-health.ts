// Runners that keep failing for their own reasons. A runner whose git
// cannot read the repository fails every attempt in a few milliseconds, and
// would take every job of the queue and end each as error while a healthy
// runner sat idle. So after `after` infrastructure failures in a row (a
// fetch or checkout that failed, a lost job) a runner is unhealthy: it gets
// no jobs for a back-off, twice as long each time it fails again right after
// one, up to an hour; a job that runs on it (passed or failed by its tests)
// makes it healthy again. Kept by runner name, so a reconnect does not wash
// it clean; not journaled, so a dispatcher restart does.
//
// `next` is the pure decision, table-tested; RunnerHealth keeps the table.

export interface HealthRules {
  /** Infrastructure failures in a row that make a runner unhealthy. */
  after: number;
  /** The first back-off; each further one in a row doubles it. */
  backoffMs: number;
}

export interface Health {
  /** Infrastructure failures in a row since the last good attempt or back-off. */
  streak: number;
  /** Back-offs in a row: after one, the next failure starts another at once. */
  strikes: number;
  /** Until when it gets no jobs (ms since the epoch); null when healthy. */
  until: number | null;
  /** The last failure, for people. */
  last: string;
}

export const HEALTHY: Health = Object.freeze({ streak: 0, strikes: 0, until: null, last: '' });
const MAX_BACKOFF_MS = 3_600_000;

/** The health after one more attempt ended on the runner: `infra` for the runner's reasons. */
export function next(health: Health, attempt: { infra: boolean; message: string }, now: number, rules: HealthRules): Health {
  if (!attempt.infra) return HEALTHY;
  const streak = health.streak + 1;
  if (streak < rules.after && health.strikes === 0) return { ...health, streak, last: attempt.message };
  const strikes = health.strikes + 1;
  const backoff = Math.min(MAX_BACKOFF_MS, rules.backoffMs * 2 ** Math.min(strikes - 1, 20));
  return { streak: 0, strikes, until: now + backoff, last: attempt.message };
}

export function isUnhealthy(health: Health | undefined, now: number): boolean {
  return health?.until != null && now < health.until;
}

export class RunnerHealth {
  private readonly table = new Map<string, Health>();

  constructor(private readonly rules: HealthRules) {}

  /** Records an attempt's end; returns the health when this made the runner unhealthy, else null. */
  ended(runner: string, attempt: { infra: boolean; message: string }, now: number): Health | null {
    const before = this.table.get(runner) ?? HEALTHY;
    const after = next(before, attempt, now, this.rules);
    if (after === HEALTHY) this.table.delete(runner);
    else this.table.set(runner, after);
    return after.until !== null && after.until !== before.until ? after : null;
  }

  unhealthy(runner: string, now: number): boolean {
    return isUnhealthy(this.table.get(runner), now);
  }

  /** For status: why it gets no jobs, and until when; null when it is healthy. */
  describe(runner: string, now: number): string | null {
    const health = this.table.get(runner);
    if (!isUnhealthy(health, now)) return null;
    return `unhealthy until ${new Date(health!.until!).toISOString()} after infrastructure failures in a row (last: ${health!.last})`;
  }

  /** When the next back-off ends, so jobs can be placed again then; null when none runs. */
  nextRecovery(now: number): number | null {
    let soonest: number | null = null;
    for (const { until } of this.table.values()) {
      if (until !== null && until > now && (soonest === null || until < soonest)) soonest = until;
    }
    return soonest;
  }

}
