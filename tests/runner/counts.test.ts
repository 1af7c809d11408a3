import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { parseCounts } from '../../src/runner/counts.js';

// Copied from a real `node --test` run on Node 20 (stdout not a TTY).
const TAP = [
  'TAP version 13',
  '# Subtest: ok',
  'ok 1 - ok',
  '  ---',
  '  duration_ms: 0.2',
  '  ...',
  '1..4',
  '# tests 4',
  '# suites 0',
  '# pass 1',
  '# fail 1',
  '# cancelled 0',
  '# skipped 1',
  '# todo 1',
  '# duration_ms 124.815122',
  '',
].join('\n');

test('node --test TAP summary, todo folded into skipped', () => {
  assert.deepEqual(parseCounts(TAP), { tests: 4, passed: 1, failed: 1, skipped: 2 });
});

test('TAP cancelled tests count as failed', () => {
  const tap = '# tests 3\n# suites 0\n# pass 0\n# fail 1\n# cancelled 2\n# skipped 0\n# todo 0\n';
  assert.deepEqual(parseCounts(tap), { tests: 3, passed: 0, failed: 3, skipped: 0 });
});

test('TAP with CRLF line ends', () => {
  assert.deepEqual(parseCounts(TAP.replaceAll('\n', '\r\n')), { tests: 4, passed: 1, failed: 1, skipped: 2 });
});

test('a `# tests` line without pass/fail lines is not a summary', () => {
  assert.equal(parseCounts('# tests 3\nsomething else\n'), null);
});

const unittest = (tests: number, verdict: string) =>
  `test_a (test_x.T.test_a) ... ok\n\n${'-'.repeat(70)}\nRan ${tests} test${tests === 1 ? '' : 's'} in 0.001s\n\n${verdict}\n`;

test('python unittest summaries', () => {
  const cases: [string, number, string, ReturnType<typeof parseCounts>][] = [
    ['OK', 3, 'OK', { tests: 3, passed: 3, failed: 0, skipped: 0 }],
    ['one test', 1, 'OK', { tests: 1, passed: 1, failed: 0, skipped: 0 }],
    ['OK with skips', 5, 'OK (skipped=2)', { tests: 5, passed: 3, failed: 0, skipped: 2 }],
    ['FAILED', 4, 'FAILED (failures=1, errors=1, skipped=1)', { tests: 4, passed: 1, failed: 2, skipped: 1 }],
    ['expected failure passes', 2, 'OK (expected failures=1)', { tests: 2, passed: 2, failed: 0, skipped: 0 }],
    ['unexpected success fails', 2, 'FAILED (unexpected successes=1)', { tests: 2, passed: 1, failed: 1, skipped: 0 }],
    ['no tests', 0, 'NO TESTS RAN', { tests: 0, passed: 0, failed: 0, skipped: 0 }],
  ];
  for (const [name, tests, verdict, expected] of cases) {
    assert.deepEqual(parseCounts(unittest(tests, verdict)), expected, name);
  }
});

test('the last summary wins, whichever format', () => {
  assert.deepEqual(parseCounts(TAP + unittest(2, 'OK')), { tests: 2, passed: 2, failed: 0, skipped: 0 });
  assert.deepEqual(parseCounts(unittest(2, 'OK') + TAP), { tests: 4, passed: 1, failed: 1, skipped: 2 });
  const twoTaps = TAP + TAP.replace('# tests 4', '# tests 9').replace('# pass 1', '# pass 6');
  assert.deepEqual(parseCounts(twoTaps), { tests: 9, passed: 6, failed: 1, skipped: 2 });
});

test('unrecognised output gives null', () => {
  for (const output of ['', 'all good\n', '5 passing\n1 failing\n', 'Ran 3 tests in 0.1s\n\nMAYBE\n']) {
    assert.equal(parseCounts(output), null, JSON.stringify(output));
  }
});
