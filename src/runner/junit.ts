// Reads counts and failed test names out of JUnit XML, the report format
// most test tools can write. No XML library (Keel has no dependencies), so
// this is a careful scan over `<testcase>` elements, which is all the format
// needs: a testcase with a <failure> or <error> child failed, one with a
// <skipped> child was skipped, any other passed. Suites, properties and
// system-out are ignored, however deeply nested.
//
// Anything that does not look like JUnit, or holds a testcase tag the scan
// cannot read, yields null: as with counts.ts, a wrong count is worse than
// none. Real reporters are sloppy (Node's leaves `>` raw inside attribute
// values), so attribute values are read quote to quote, never up to a `>`.

import { LIMITS } from '../protocol/limits.js';
import type { TestCounts } from '../protocol/records.js';

export interface JunitReport {
  counts: TestCounts;
  /** `classname.name` (or `name`) of the first LIMITS.failedTests failed tests, in document order. */
  failedTests: string[];
}

// Comments and CDATA may hold anything, `<testcase` included; they carry nothing we count.
const IGNORED = /<!--[\s\S]*?-->|<!\[CDATA\[[\s\S]*?\]\]>/g;
const ROOT = /<(?:testsuites|testsuite|testcase)[\s/>]/;
const ANY_TESTCASE = /<testcase[\s/>]/g;
const ATTRIBUTE = String.raw`\s+[^\s=/>]+\s*=\s*(?:"[^"]*"|'[^']*')`;
const TESTCASE = new RegExp(String.raw`<testcase((?:${ATTRIBUTE})*)\s*(/?)>`, 'g');
const ONE_ATTRIBUTE = /([^\s=/>]+)\s*=\s*(?:"([^"]*)"|'([^']*)')/g;
const CLOSE = '</testcase';
const FAILED_CHILD = /<(?:failure|error)[\s/>]/;
const SKIPPED_CHILD = /<skipped[\s/>]/;
const ENTITY = /&(?:#(\d{1,7})|#x([0-9a-fA-F]{1,6})|(lt|gt|amp|quot|apos));/g;
const NAMED: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

/** Counts and failed names from JUnit XML `xml`, or null when it is not JUnit this scan can read. */
export function parseJunit(xml: string): JunitReport | null {
  const text = xml.replace(IGNORED, '');
  if (!ROOT.test(text)) return null;
  const counts: TestCounts = { tests: 0, passed: 0, failed: 0, skipped: 0 };
  const failedTests: string[] = [];
  TESTCASE.lastIndex = 0;
  for (let match = TESTCASE.exec(text); match !== null; match = TESTCASE.exec(text)) {
    let body = '';
    if (match[2] !== '/') {
      const end = text.indexOf(CLOSE, TESTCASE.lastIndex);
      if (end === -1) return null;
      body = text.slice(TESTCASE.lastIndex, end);
      TESTCASE.lastIndex = end + CLOSE.length;
    }
    counts.tests += 1;
    if (FAILED_CHILD.test(body)) {
      counts.failed += 1;
      if (failedTests.length < LIMITS.failedTests) failedTests.push(testName(readAttributes(match[1]!)));
    } else if (SKIPPED_CHILD.test(body)) {
      counts.skipped += 1;
    } else {
      counts.passed += 1;
    }
  }
  // Every testcase tag must have been read; one the scan skipped would make the counts wrong.
  if ((text.match(ANY_TESTCASE) ?? []).length !== counts.tests) return null;
  return { counts, failedTests };
}

function readAttributes(source: string): Map<string, string> {
  const attributes = new Map<string, string>();
  for (const [, key, double, single] of source.matchAll(ONE_ATTRIBUTE)) {
    attributes.set(key!, decodeAttribute(double ?? single ?? ''));
  }
  return attributes;
}

function testName(attributes: Map<string, string>): string {
  const name = attributes.get('name') ?? '';
  const classname = attributes.get('classname') ?? '';
  const full = classname === '' ? name : `${classname}.${name}`;
  return (full === '' ? '(unnamed)' : full).slice(0, LIMITS.failedTestChars);
}

/**
 * An attribute value as XML defines it: literal tabs and line breaks become
 * spaces, then references are replaced. One pass, so `&amp;lt;` is `&lt;`.
 */
export function decodeAttribute(raw: string): string {
  return raw.replace(/\r\n|[\t\n\r]/g, ' ').replace(ENTITY, (whole, decimal?: string, hex?: string, named?: string) => {
    if (named !== undefined) return NAMED[named]!;
    const code = decimal !== undefined ? Number(decimal) : parseInt(hex!, 16);
    const valid = code > 0 && code <= 0x10ffff && (code < 0xd800 || code > 0xdfff);
    return valid ? String.fromCodePoint(code) : whole;
  });
}
