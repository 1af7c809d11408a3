// A `job` line the codec refused (a title too long, a newline in it, too
// many env variables). No runner could take that job, so rather than drop
// the connection (and with it every other job, to be lost and retried three
// times), the runner answers that lease alone with an error result. Only a
// line that says plainly which lease it was for is answered so: anything
// else is a peer out of step, and the connection goes as before.

import { LEASE } from '../protocol/codec.js';
import type { ProtocolError } from '../protocol/errors.js';
import type { RunOutcome } from '../protocol/records.js';
import { boundOutcome, errorOutcome } from './outcome.js';

/** The lease of a refused line that is a JSON object of type `job` with a well-formed lease; else null. */
export function refusedJobLease(line: Buffer | null): string | null {
  if (line === null) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(line.toString('utf8'));
  } catch {
    return null;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return null;
  const { type, lease } = parsed as Record<string, unknown>;
  return type === 'job' && typeof lease === 'string' && LEASE.test(lease) ? lease : null;
}

/** The result for a refused job: the repository's problem (infra false), not a cancel. */
export function refusedJobOutcome(error: ProtocolError, at: Date = new Date()): RunOutcome {
  return boundOutcome(errorOutcome(at, `the runner could not take this job: ${error.message}`, false));
}
