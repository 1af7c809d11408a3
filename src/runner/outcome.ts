// Building RunOutcomes, and keeping them within what the protocol accepts.
//
// Much of an outcome comes from the repository (the `run` argv, test file
// names, failed test names) and the dispatcher checks every field. A result
// it refuses would be spooled and re-sent after every reconnect, refused each
// time, so every outcome is clipped to the codec's limits before it leaves.

import type { RunOutcome } from '../protocol/records.js';
import { MAX_FAILED_NAME_CHARS, MAX_FAILED_NAMES } from './junit.js';

/** From src/protocol/codec.ts: `command` items and `message`. */
const MAX_COMMAND_ITEMS = 4096;
const MAX_TEXT = 4096;
/** All of `command` together, so the result line stays far below 1 MiB. */
const MAX_COMMAND_CHARS = 64 * 1024;

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
    const clipped = clip(item, MAX_TEXT);
    if (command.length === MAX_COMMAND_ITEMS || chars + clipped.length > MAX_COMMAND_CHARS) break;
    command.push(clipped);
    chars += clipped.length;
  }
  return {
    ...outcome,
    command,
    message: clip(outcome.message, MAX_TEXT),
    failedTests: outcome.failedTests.slice(0, MAX_FAILED_NAMES).map((name) => clip(name, MAX_FAILED_NAME_CHARS)),
  };
}
