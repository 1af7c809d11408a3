// The failed tests of a job's JUnit XML, with their messages, for the build
// page: name (classname.name), the failure's message attribute and the
// first lines of its text. The same careful scan as the runner's counts
// (src/runner/junit.ts), no XML library; whatever the scan cannot read is
// left out rather than guessed.

import { decodeAttribute } from '../../runner/junit.js';

export interface JunitFailure {
  /** As the runner reports it: classname.name, or name. */
  name: string;
  /** The testcase's own name attribute, as its output is likely to print it. */
  test: string;
  message: string;
  /** The first lines of the failure's text. */
  detail: string;
}

const IGNORED = /<!--[\s\S]*?-->/g;
const ATTRIBUTE = String.raw`\s+[^\s=/>]+\s*=\s*(?:"[^"]*"|'[^']*')`;
const TESTCASE = new RegExp(String.raw`<testcase((?:${ATTRIBUTE})*)\s*(/?)>`, 'g');
const FAILURE = new RegExp(String.raw`<(failure|error)((?:${ATTRIBUTE})*)\s*(/?)>`);
const ONE_ATTRIBUTE = /([^\s=/>]+)\s*=\s*(?:"([^"]*)"|'([^']*)')/g;
const MAX_DETAIL_LINES = 12;
const MAX_TEXT = 2000;

function attributes(source: string): Map<string, string> {
  const found = new Map<string, string>();
  for (const [, key, double, single] of source.matchAll(ONE_ATTRIBUTE)) found.set(key!, decodeAttribute(double ?? single ?? ''));
  return found;
}

/** Element text: CDATA as it is, references decoded. */
function textOf(body: string): string {
  return body.replace(/<!\[CDATA\[([\s\S]*?)\]\]>|([^<]+)|<[^>]*>/g, (_, cdata?: string, text?: string) => cdata ?? (text ? decodeAttribute(text.replace(/\n/g, '&#10;')) : ''));
}

export function parseFailures(xml: string, max = 20): JunitFailure[] {
  const text = xml.replace(IGNORED, '');
  const failures: JunitFailure[] = [];
  TESTCASE.lastIndex = 0;
  for (let match = TESTCASE.exec(text); match !== null && failures.length < max; match = TESTCASE.exec(text)) {
    if (match[2] === '/') continue;
    const end = text.indexOf('</testcase', TESTCASE.lastIndex);
    if (end === -1) break;
    const body = text.slice(TESTCASE.lastIndex, end);
    TESTCASE.lastIndex = end;
    const failure = FAILURE.exec(body);
    if (!failure) continue;
    const own = attributes(match[1]!);
    const test = own.get('name') ?? '';
    const classname = own.get('classname') ?? '';
    const close = failure[3] === '/' ? -1 : body.indexOf(`</${failure[1]}`, failure.index);
    const inner = close === -1 ? '' : body.slice(failure.index + failure[0].length, close);
    const detail = textOf(inner).trim().split('\n').slice(0, MAX_DETAIL_LINES).join('\n').slice(0, MAX_TEXT);
    failures.push({
      name: (classname === '' ? test : `${classname}.${test}`) || '(unnamed)',
      test,
      message: (attributes(failure[2]!).get('message') ?? '').slice(0, MAX_TEXT),
      detail,
    });
  }
  return failures;
}
