import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { decode, encode } from '../../src/protocol/codec.js';
import { boundOutcome, errorOutcome } from '../../src/runner/outcome.js';

test('errorOutcome fills every field, with infra as given', () => {
  const outcome = errorOutcome(new Date(Date.now() - 5), 'fetch failed: x', true);
  assert.equal(outcome.status, 'error');
  assert.equal(outcome.infra, true);
  assert.deepEqual([outcome.failedTests, outcome.junit, outcome.counts, outcome.command], [[], null, null, []]);
  assert.ok(outcome.durationMs >= 0);
});

test('boundOutcome clips what the repository can grow, so the dispatcher never refuses the result', () => {
  const huge = {
    ...errorOutcome(new Date(), 'm'.repeat(10_000), false),
    command: Array.from({ length: 100 }, () => 'c'.repeat(5_000)),
    failedTests: Array.from({ length: 300 }, (_, i) => `${i}`.padEnd(2_000, 'x')),
  };
  const bounded = boundOutcome(huge);
  assert.equal(bounded.message.length, 4096);
  assert.ok(bounded.command.every((item) => item.length <= 4096));
  assert.ok(bounded.command.join('').length <= 64 * 1024);
  assert.equal(bounded.failedTests.length, 100);
  assert.ok(bounded.failedTests.every((name) => name.length <= 1024));
  const line = encode({ type: 'result', lease: 'lease-1', outcome: bounded });
  assert.deepEqual(decode(Buffer.from(line.trimEnd())), { type: 'result', lease: 'lease-1', outcome: bounded });
});
