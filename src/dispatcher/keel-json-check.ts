// The checks every part of keel.json's parser shares: the one error class
// (naming the field, since the message is all the committer sees), field
// paths, known keys with a guess at a typo, and the text and name rules.

import { ErrorCode, KeelError } from '../protocol/error-codes.js';
import { describeValue } from '../protocol/errors.js';
import { LIMITS } from '../protocol/limits.js';

export class KeelJsonError extends KeelError {
  override readonly name = 'KeelJsonError';
  /** Where the problem is, e.g. "jobs.unit.matrix.NODE[1]"; "" for the file as a whole. */
  readonly field: string;
  /** What is wrong there, without the source and field. */
  readonly problem: string;

  /** `source` names what was read: "keel.json", or "generator output" for the jobs a generator printed. */
  constructor(field: string, problem: string, options?: { cause?: unknown; source?: string }) {
    super(ErrorCode.badKeelJson, `${options?.source ?? 'keel.json'}: ${field === '' ? '' : `${field} `}${problem}`, options);
    this.field = field;
    this.problem = problem;
  }
}

export const ENV_NAME = new RegExp(`^[A-Za-z_][A-Za-z0-9_]{0,${LIMITS.envName - 1}}$`);
// eslint-disable-next-line no-control-regex
export const CONTROL = /[\u0000-\u001f\u007f]/;
// Keys shown as .key in a field path; anything else is shown as ["key"].
const PLAIN_KEY = /^[A-Za-z0-9_-]{1,64}$/;

export function fail(field: string, problem: string): never {
  throw new KeelJsonError(field, problem);
}

export function child(path: string, key: string): string {
  if (!PLAIN_KEY.test(key)) return `${path}[${describeValue(key)}]`;
  return path === '' ? key : `${path}.${key}`;
}

export function own(object: Record<string, unknown>, key: string): unknown {
  return Object.hasOwn(object, key) ? object[key] : undefined;
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Numbers as written (describeValue would show Infinity as null). */
export function show(value: unknown): string {
  return typeof value === 'number' ? String(value) : describeValue(value);
}

export function quoteHint(value: unknown): string {
  return typeof value === 'number' || typeof value === 'boolean' ? ` (put it in quotes: "${String(value)}")` : '';
}

export function checkText(text: string, field: string, max: number): void {
  if (text.length > max) fail(field, `is ${text.length} characters long; at most ${max} are allowed`);
  if (text.includes('\0')) fail(field, 'must not contain a NUL character');
}

export function checkEnvName(name: string, field: string): void {
  if (!ENV_NAME.test(name)) {
    fail(field, 'is not a valid variable name: use letters, digits and "_", not starting with a digit, at most 128 characters');
  }
  if (name.startsWith('KEEL_')) fail(field, 'is reserved: variables starting with KEEL_ are set by Keel');
  if (name === 'PATH' || name === 'HOME') fail(field, `cannot be set: the runner sets ${name} itself`);
}

/** A list of at most `max` distinct strings, each checked by `check`. */
export function distinctStrings(value: unknown, path: string, max: number, what: string, check: (item: string, field: string) => void): string[] {
  if (!Array.isArray(value) || value.length === 0 || value.length > max) fail(path, `must be a list of 1 to ${max} ${what}, got ${show(value)}`);
  value.forEach((item: unknown, i) => {
    if (typeof item !== 'string') fail(`${path}[${i}]`, `must be a string${quoteHint(item)}, got ${show(item)}`);
    check(item, `${path}[${i}]`);
    if (value.indexOf(item) !== i) fail(`${path}[${i}]`, `repeats ${show(item)}`);
  });
  return [...(value as string[])];
}

/** Fails on the first key not in `known`, suggesting the nearest known one. */
export function checkKeys(object: Record<string, unknown>, path: string, known: readonly string[]): void {
  const unknown = Object.keys(object).filter((key) => !known.includes(key));
  const [first] = unknown;
  if (first === undefined) return;
  const guess = known.find((key) => nearlyEqual(first, key));
  const hint = guess === undefined ? '' : ` (did you mean "${guess}"?)`;
  const more = unknown.length > 1 ? `; also unknown: ${unknown.slice(1).map((key) => describeValue(key)).join(', ')}` : '';
  fail(child(path, first), `is not a known field${hint}; known fields: ${known.join(', ')}${more}`);
}

/** Case-insensitively within two edits, a swap of neighbours counting as one: catches "retires", "Timeout". */
function nearlyEqual(a: string, b: string): boolean {
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  if (Math.abs(x.length - y.length) > 2) return false;
  // d[i][j]: edits turning the first i characters of x into the first j of y.
  const d = Array.from({ length: x.length + 1 }, (_, i) => Array.from({ length: y.length + 1 }, (_, j) => i + j));
  for (let i = 1; i <= x.length; i++) {
    for (let j = 1; j <= y.length; j++) {
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (x[i - 1] === y[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && x[i - 1] === y[j - 2] && x[i - 2] === y[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[x.length][y.length] <= 2;
}
