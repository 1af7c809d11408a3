// The names of failed tests in Python unittest output, read as the output
// streams by (every line, not only a tail, so a long run loses none): each
// failure and error is headed
//   FAIL: test_x (test_math.MathTest.test_x)      Python 3.11 and later
//   ERROR: test_y (test_math.MathTest)           earlier
//   FAIL: test_z (test_math.MathTest.test_z) (i=2)   a subTest
// and becomes `test_math.MathTest.test_x`, the id `python -m unittest`
// takes, with a subTest's parameters after it. node --test's names come
// from its JUnit report instead (see junit-file.ts).

import { LIMITS } from '../protocol/limits.js';

const HEADER = /^(?:FAIL|ERROR): (\S+) \(([\w.]+)\)(.*?)\r?$/;

/** The dotted id of a failed test from its header's parts. */
export function unittestName(method: string, where: string, rest: string): string {
  const id = where === method || where.endsWith(`.${method}`) ? where : `${where}.${method}`;
  return `${id}${rest.trim() ? ` ${rest.trim()}` : ''}`;
}

export class UnittestFailures {
  private partial = '';
  private readonly found = new Set<string>();

  /** Feeds a piece of output (lines may be split across pieces). */
  push(piece: string): void {
    if (this.found.size >= LIMITS.failedTests) return;
    const lines = (this.partial + piece).split('\n');
    this.partial = lines.pop()!;
    // A line longer than any header can be is not one; do not keep growing it.
    if (this.partial.length > LIMITS.failedTestChars) this.partial = '';
    for (const line of lines) this.line(line);
  }

  /** The names so far, in the order they came, at most LIMITS.failedTests. */
  names(): string[] {
    if (this.partial !== '') this.line(this.partial);
    this.partial = '';
    return [...this.found];
  }

  private line(line: string): void {
    const match = HEADER.exec(line);
    if (match && this.found.size < LIMITS.failedTests) this.found.add(unittestName(match[1]!, match[2]!, match[3]!));
  }
}
