// Reading failed test names out of Python unittest output, as it streams.
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { LIMITS } from '../../src/protocol/limits.js';
import { UnittestFailures } from '../../src/runner/unittest-failures.js';

test('unittest failure headers of every Python, split across pieces, each name once', () => {
  const reader = new UnittestFailures();
  const output = [
    'test_x (test_math.MathTest.test_x) ... FAIL',
    '======================================================================',
    'FAIL: test_x (test_math.MathTest.test_x)',
    '----------------------------------------------------------------------',
    'ERROR: test_y (test_math.MathTest)',
    'ERROR: setUpClass (test_math.Setup)',
    'FAIL: test_x (test_math.MathTest.test_x)',
    '  FAIL: not a header (indented)',
    'FAIL: test_z (pkg.mod.Z.test_z) (i=2)\r',
    'FAIL: test_last (m.C)',
  ].join('\n');
  for (let at = 0; at < output.length; at += 7) reader.push(output.slice(at, at + 7));
  assert.deepEqual(reader.names(), ['test_math.MathTest.test_x', 'test_math.MathTest.test_y', 'test_math.Setup.setUpClass', 'pkg.mod.Z.test_z (i=2)', 'm.C.test_last']);
});

test('no more than the protocol takes', () => {
  const reader = new UnittestFailures();
  for (let i = 0; i < LIMITS.failedTests + 50; i += 1) reader.push(`FAIL: test_${i} (m.C)\n`);
  assert.equal(reader.names().length, LIMITS.failedTests);
});
