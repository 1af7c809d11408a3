// "Did you mean": table-driven, no processes.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { editDistance, suggest } from '../../src/common/suggest.js';

const RUNNER_FLAGS = ['dispatcher', 'name', 'slots', 'labels', 'workdir', 'timeout', 'kill-grace', 'drain-grace', 'token-file', 'tls-cert', 'tls-key', 'tls-ca'];

const cases: Array<[string, readonly string[], string | null]> = [
  ['slot', RUNNER_FLAGS, 'slots'],
  ['lables', RUNNER_FLAGS, 'labels'],
  ['worddir', RUNNER_FLAGS, 'workdir'],
  ['token', RUNNER_FLAGS, 'token-file'],
  ['tls-cs', RUNNER_FLAGS, 'tls-ca'],
  ['dispatch', RUNNER_FLAGS, 'dispatcher'],
  ['verbose', RUNNER_FLAGS, null],
  ['x', RUNNER_FLAGS, null],
  ['jsn', ['json', 'project', 'dispatcher'], 'json'],
  ['max-atempts', ['max-attempts', 'max-errors'], 'max-attempts'],
  ['stauts', ['status', 'token', 'admin'], 'status'],
  ['slots', RUNNER_FLAGS, null],
];

for (const [given, candidates, want] of cases) {
  test(`suggest ${given} → ${want}`, () => assert.equal(suggest(given, candidates), want));
}

test('editDistance counts a swap of neighbours as one edit', () => {
  assert.equal(editDistance('lables', 'labels'), 1);
  assert.equal(editDistance('abc', 'abc'), 0);
  assert.equal(editDistance('', 'abc'), 3);
  assert.equal(editDistance('kitten', 'sitting'), 3);
});
