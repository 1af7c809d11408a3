// Reads pass/fail/skip counts out of test output, for the two runners Keel
// chooses itself (see test-command.ts). Anything else yields null: a wrong
// count is worse than none.
//
// node --test (TAP, its default reporter when stdout is not a TTY) ends with
//   # tests 4 / # suites 0 / # pass 1 / # fail 1 / # cancelled 0 / # skipped 1 / # todo 1
// Node counts cancelled and todo tests inside `# tests`, so they are folded
// in to keep tests = passed + failed + skipped: a cancelled test (timed out,
// or its parent failed) did not pass, so it is failed; a todo test is
// declared unfinished and never fails the run, so it is skipped.
//
// Python unittest ends with `Ran N tests in 0.001s`, a blank line, then
// `OK`, `OK (skipped=1)`, `FAILED (failures=1, errors=2, skipped=3)` or
// `NO TESTS RAN`. Errors count as failed; an unexpected success fails the
// run (Python 3.11+), so it is failed; an expected failure is passed.
//
// Output may hold several summaries (several steps, or a test printing one):
// the last one wins.

import type { TestCounts } from '../protocol/records.js';

interface Found {
  at: number;
  counts: TestCounts;
}

const TAP_TESTS = /^# tests (\d+)\r?$/gm;
const TAP_FIELD = /^# (\w+) (\d+)\r?$/;

const UNITTEST = /^Ran (\d+) tests? in [\d.]+s\r?\n(?:\r?\n)?(OK|FAILED|NO TESTS RAN)(?: \(([^)\n]*)\))?\r?$/gm;

/** The last recognisable summary in `output`, or null. */
export function parseCounts(output: string): TestCounts | null {
  const found = [lastTap(output), lastUnittest(output)].filter((f): f is Found => f !== null);
  if (found.length === 0) return null;
  found.sort((a, b) => a.at - b.at);
  return found[found.length - 1]!.counts;
}

function lastMatch(pattern: RegExp, text: string): RegExpExecArray | null {
  pattern.lastIndex = 0;
  let last: RegExpExecArray | null = null;
  for (let match = pattern.exec(text); match !== null; match = pattern.exec(text)) last = match;
  return last;
}

function lastTap(output: string): Found | null {
  const match = lastMatch(TAP_TESTS, output);
  if (match === null) return null;
  const fields = new Map<string, number>();
  // The summary is a run of `# name N` lines; stop at the first other line.
  const rest = output.slice(match.index + match[0].length).split('\n').slice(1);
  for (const line of rest) {
    const field = TAP_FIELD.exec(line);
    if (field === null) break;
    fields.set(field[1]!, Number(field[2]));
  }
  if (!fields.has('pass') || !fields.has('fail')) return null;
  const get = (name: string) => fields.get(name) ?? 0;
  return {
    at: match.index,
    counts: {
      tests: Number(match[1]),
      passed: get('pass'),
      failed: get('fail') + get('cancelled'),
      skipped: get('skipped') + get('todo'),
    },
  };
}

function lastUnittest(output: string): Found | null {
  const match = lastMatch(UNITTEST, output);
  if (match === null) return null;
  const tests = Number(match[1]);
  const details = new Map<string, number>();
  for (const part of (match[3] ?? '').split(',')) {
    const [key, value] = part.trim().split('=');
    if (key && value !== undefined && /^\d+$/.test(value)) details.set(key, Number(value));
  }
  const get = (name: string) => details.get(name) ?? 0;
  const failed = get('failures') + get('errors') + get('unexpected successes');
  const skipped = get('skipped');
  return {
    at: match.index,
    counts: { tests, passed: Math.max(0, tests - failed - skipped), failed, skipped },
  };
}
