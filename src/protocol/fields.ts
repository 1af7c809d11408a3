// Field readers for the decoder: each returns the typed value or throws a
// ProtocolError naming the field and the offending value.

import { ErrorCode } from './error-codes.js';
import { ProtocolError, describeValue } from './errors.js';

export type Fields = Record<string, unknown>;

const MAX_TEXT = 64 * 1024;

function bad(field: string, value: unknown, expected: string): never {
  throw new ProtocolError(
    ErrorCode.badField,
    `field "${field}" must be ${expected}, got ${value === undefined ? 'nothing' : describeValue(value)}`,
  );
}

export function text(obj: Fields, field: string, max = MAX_TEXT): string {
  const value = obj[field];
  if (typeof value !== 'string' || value.length > max) bad(field, value, `a string of at most ${max} characters`);
  return value;
}

export function checked(obj: Fields, field: string, test: (v: string) => boolean, expected: string): string {
  const value = obj[field];
  if (typeof value !== 'string' || !test(value)) bad(field, value, expected);
  return value;
}

export function oneOf<T extends string>(obj: Fields, field: string, allowed: readonly T[]): T {
  const value = obj[field];
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    bad(field, value, `one of ${allowed.join(', ')}`);
  }
  return value as T;
}

export function int(obj: Fields, field: string, min: number, max: number): number {
  const value = obj[field];
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    bad(field, value, `an integer from ${min} to ${max}`);
  }
  return value;
}

export function nullable<T>(obj: Fields, field: string, read: (o: Fields, f: string) => T): T | null {
  return obj[field] === null ? null : read(obj, field);
}

export function bool(obj: Fields, field: string): boolean {
  const value = obj[field];
  if (typeof value !== 'boolean') bad(field, value, 'true or false');
  return value;
}

export function object(obj: Fields, field: string): Fields {
  const value = obj[field];
  if (typeof value !== 'object' || value === null || Array.isArray(value)) bad(field, value, 'an object');
  return value as Fields;
}

export function list<T>(obj: Fields, field: string, max: number, read: (item: Fields, name: string) => T): T[] {
  const value = obj[field];
  if (!Array.isArray(value) || value.length > max) bad(field, value, `a list of at most ${max} items`);
  return value.map((item, i) => read({ [`${field}[${i}]`]: item }, `${field}[${i}]`));
}

/** An object of name -> string, e.g. environment variables. */
export function stringRecord(obj: Fields, field: string, keyPattern: RegExp, maxEntries: number, maxValue: number): Record<string, string> {
  const value = object(obj, field);
  const entries = Object.entries(value);
  if (entries.length > maxEntries) bad(field, value, `an object of at most ${maxEntries} entries`);
  const record: Record<string, string> = Object.create(null);
  for (const [key, item] of entries) {
    if (!keyPattern.test(key)) bad(`${field}.${key}`, key, `a name matching ${keyPattern}`);
    if (typeof item !== 'string' || item.length > maxValue || item.includes('\0')) {
      bad(`${field}.${key}`, item, `a string of at most ${maxValue} characters without NUL`);
    }
    record[key] = item;
  }
  return { ...record };
}
