// Building RunOutcomes, and keeping them within what the protocol accepts.
//
// Much of an outcome comes from the repository (the `run` argv, test file
// names, failed test names) and the dispatcher checks every field. A result
// it refuses would be spooled and re-sent after every reconnect, refused each
// time, so every outcome is clipped to the limits the codec checks (LIMITS)
// before it leaves.

import { LIMITS } from '../protocol/limits.js';
import type { RunOutcome } from '../protocol/records.js';

/** An outcome for a job that ended before (or instead of) running its command. */
export function errorOutcome(startedAt: Date, message: string, infra: boolean): RunOutcome {
  return {
    status: 'error', exitCode: null, signal: null, timedOut: false,
    startedAt: startedAt.toISOString(), durationMs: Date.now() - startedAt.getTime(),
    command: [], message, counts: null, infra, cancelled: false, failedTests: [], junit: null,
  };
}

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** `outcome` with every field the repository can grow cut to the protocol's limits. */
export function boundOutcome(outcome: RunOutcome): RunOutcome {
  const command: string[] = [];
  let chars = 0;
  for (const item of outcome.command) {
    const clipped = clip(item, LIMITS.text);
    if (command.length === LIMITS.commandItems || chars + clipped.length > LIMITS.commandChars) break;
    command.push(clipped);
    chars += clipped.length;
  }
  return {
    ...outcome,
    command,
    message: clip(outcome.message, LIMITS.text),
    failedTests: outcome.failedTests.slice(0, LIMITS.failedTests).map((name) => clip(name, LIMITS.failedTestChars)),
  };
}
