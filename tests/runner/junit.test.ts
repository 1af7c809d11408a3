import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { decodeAttribute, parseJunit } from '../../src/runner/junit.js';
import { tempDir } from '../helpers/temp.js';

test("real node --test --test-reporter=junit output: one passing, one failing, one skipped", (t) => {
  const dir = tempDir(t);
  mkdirSync(join(dir, 'tests'));
  writeFileSync(join(dir, 'tests', 'a.test.mjs'), [
    "import test from 'node:test';",
    "test('passes', () => {});",
    "test('fails <&>', () => { throw new Error('boom </testcase> <failure>'); });",
    "test('skipped', { skip: true }, () => {});",
    '',
  ].join('\n'));
  const run = spawnSync(process.execPath, ['--test', '--test-reporter=junit', '--test-reporter-destination=report.xml', 'tests/a.test.mjs'], {
    cwd: dir,
    encoding: 'utf8',
    // Inherited, it would make the child think it is a subtest of this run and skip its files.
    env: { ...process.env, NODE_TEST_CONTEXT: undefined },
  });
  assert.equal(run.status, 1, run.stderr);
  const report = parseJunit(readFileSync(join(dir, 'report.xml'), 'utf8'));
  assert.deepEqual(report?.counts, { tests: 3, passed: 1, failed: 1, skipped: 1 });
  assert.equal(report.failedTests.length, 1);
  // Node 20 gives every test the classname "test".
  assert.match(report.failedTests[0]!, /^(?:test\.)?fails <&>$/);
});

test('nested suites, error and failure children, system-out, and a testsuites root', () => {
  const xml = `<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="all" tests="5">
  <testsuite name="outer">
    <properties><property name="x" value="y"/></properties>
    <testsuite name="inner">
      <testcase classname="pkg.Inner" name="ok" time="0.1"><system-out>fine</system-out></testcase>
      <testcase classname="pkg.Inner" name="broken"><error message="NPE" type="java.lang.NullPointerException">trace</error></testcase>
    </testsuite>
    <testcase classname="pkg.Outer" name="wrong">
      <failure message="expected 1">at line 3</failure>
      <system-err>noise</system-err>
    </testcase>
    <testcase classname="pkg.Outer" name="later"><skipped/></testcase>
  </testsuite>
  <testsuite name="bare"><testcase name="no class"><failure/></testcase></testsuite>
</testsuites>`;
  assert.deepEqual(parseJunit(xml), {
    counts: { tests: 5, passed: 1, failed: 3, skipped: 1 },
    failedTests: ['pkg.Inner.broken', 'pkg.Outer.wrong', 'no class'],
  });
});

test("self-closing testcases, single quotes, '>' inside a value, and spaces before '/>'", () => {
  const xml = `<testsuite>
<testcase name='a' classname='c'/>
<testcase name="b > c" classname="x"   />
<testcase
   name="multi
line"
   classname="m"></testcase>
<testcase name="f"><failure message="a > b"/></testcase>
</testsuite>`;
  assert.deepEqual(parseJunit(xml), {
    counts: { tests: 4, passed: 3, failed: 1, skipped: 0 },
    failedTests: ['f'],
  });
});

test('entities are decoded once, numeric ones included; literal line breaks become spaces', () => {
  const xml = `<testsuite><testcase classname="a&amp;b" name="&lt;x&gt; &quot;q&quot; &apos;s&apos; &amp;lt; &#65;&#x42;&#x1F600; &#0; &#xD800; &nope;"><error/></testcase></testsuite>`;
  assert.deepEqual(parseJunit(xml)?.failedTests, [`a&b.<x> "q" 's' &lt; AB\u{1F600} &#0; &#xD800; &nope;`]);
  assert.equal(decodeAttribute('one\ntwo\r\nthree\tfour&#10;five'), 'one two three four\nfive');
});

test('testcases inside comments and CDATA are not counted', () => {
  const xml = `<testsuite>
<!-- <testcase name="commented"/> -->
<testcase name="real"><system-out><![CDATA[<testcase name="in cdata"><failure/></testcase>]]></system-out></testcase>
</testsuite>`;
  assert.deepEqual(parseJunit(xml), { counts: { tests: 1, passed: 1, failed: 0, skipped: 0 }, failedTests: [] });
});

test('an empty report counts zero tests', () => {
  assert.deepEqual(parseJunit('<testsuites/>'), { counts: { tests: 0, passed: 0, failed: 0, skipped: 0 }, failedTests: [] });
});

test('garbage, and testcases the scan cannot read, give null', () => {
  for (const text of [
    '',
    'not xml at all',
    '{"tests": 3}',
    '<html><body>nope</body></html>',
    '<testsuites><testcase name="unterminated"><failure/>',
    '<testsuite><testcase name=unquoted/></testsuite>',
    '<testsuite><testcase name="ok"/><testcase name="broken quote/></testsuite>',
  ]) {
    assert.equal(parseJunit(text), null, JSON.stringify(text));
  }
});

test('failed names are capped at 100, each at 1024 characters; counts stay exact', () => {
  const long = 'n'.repeat(5000);
  const cases = Array.from({ length: 150 }, (_, i) => `<testcase name="${i === 0 ? long : `t${i}`}"><failure/></testcase>`).join('');
  const report = parseJunit(`<testsuite>${cases}</testsuite>`);
  assert.equal(report?.counts.failed, 150);
  assert.equal(report.failedTests.length, 100);
  assert.equal(report.failedTests[0]!.length, 1024);
  assert.equal(report.failedTests[99], 't99');
});
