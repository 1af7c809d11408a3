// keel.json artifact patterns, table-driven: which paths they take, and where
// the runner looks for them.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { artifactMatcher } from '../../src/runner/artifact-glob.js';

const cases: Array<[string[], string, boolean]> = [
  [['dist/**'], 'dist/app.js', true],
  [['dist/**'], 'dist/a/b/c.map', true],
  [['dist/**'], 'distx/app.js', false],
  [['dist/**'], 'src/dist/app.js', false],
  [['dist'], 'dist/a/b.js', true],
  [['coverage/lcov.info'], 'coverage/lcov.info', true],
  [['coverage/lcov.info'], 'coverage/lcov.info.bak', false],
  [['**/*.log'], 'a.log', true],
  [['**/*.log'], 'x/y/z.log', true],
  [['**/*.log'], 'x/y/z.log.gz', false],
  [['*.txt'], 'a.txt', true],
  [['*.txt'], 'd/a.txt', false],
  [['report-?.xml'], 'report-1.xml', true],
  [['report-?.xml'], 'report-10.xml', false],
  [['a/**/b'], 'a/b', true],
  [['a/**/b'], 'a/x/y/b', true],
  [['a/**/b'], 'a/x/y/b/c.txt', true],
  [['a.b+c(d)'], 'a.b+c(d)', true],
  [['a.b+c(d)'], 'aXb+c(d)', false],
  [['x', 'y/*.js'], 'y/z.js', true],
];

for (const [patterns, path, want] of cases) {
  test(`${patterns.join(' ')} ${want ? 'takes' : 'leaves'} ${path}`, () => assert.equal(artifactMatcher(patterns).matches(path), want));
}

test('the runner looks only under the patterns\' literal beginnings', () => {
  assert.deepEqual(artifactMatcher(['dist/**', 'coverage/lcov.info']).roots, ['coverage/lcov.info', 'dist']);
  assert.deepEqual(artifactMatcher(['dist/**', 'dist/sub/*.x']).roots, ['dist']);
  assert.deepEqual(artifactMatcher(['**/*.log', 'dist/**']).roots, ['']);
  assert.deepEqual(artifactMatcher(['*.txt']).roots, ['']);
});
