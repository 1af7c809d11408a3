// The parts of a keel.json job beyond a command: its matrix (with `include`
// and `exclude`), its `when` condition and the secrets it asks for; and the
// file's `testPaths`. Each failure names the field, as the rest of the parser
// does.

import { LIMITS } from '../protocol/limits.js';
import { SUBJECT_KINDS, type JobCondition } from '../protocol/records.js';
import { checkEnvName, checkKeys, checkText, child, CONTROL, distinctStrings, fail, isObject, own, quoteHint, show } from './keel-json-check.js';
import { cartesian, countCombinations, isExcluded, type Combination, type JobTemplate } from './keel-json-matrix.js';

type Matrix = Pick<JobTemplate, 'matrix' | 'exclude' | 'include'>;

/** Keys of a matrix that are not variables. */
const MATRIX_RULES = ['include', 'exclude'];
const WHEN_KEYS = ['branches', 'subjects', 'paths'] as const;
/** What counts as a test file when a patch's tests are tried without its fix. */
export const DEFAULT_TEST_PATHS: readonly string[] = Object.freeze(['tests/']);
const MAX_TEST_PATHS = 32;

export function parseMatrix(matrix: unknown, path: string, env: Record<string, string>): Matrix {
  if (matrix === undefined) return { matrix: [], exclude: [], include: [] };
  if (!isObject(matrix)) fail(path, `must be an object of variable name → list of values, got ${show(matrix)}`);
  const names = Object.keys(matrix).filter((name) => !MATRIX_RULES.includes(name));
  if (names.length > LIMITS.matrixVariables) fail(path, `has ${names.length} variables; at most ${LIMITS.matrixVariables} are allowed`);
  const variables = names.map((name) => {
    const field = child(path, name);
    checkEnvName(name, field);
    if (Object.hasOwn(env, name)) fail(field, 'is also set in env; a variable comes from env or from matrix, not both');
    const values = own(matrix, name);
    if (!Array.isArray(values) || values.length === 0) fail(field, `must be a non-empty list of strings, got ${show(values)}`);
    if (values.length > LIMITS.matrixValues) fail(field, `has ${values.length} values; at most ${LIMITS.matrixValues} are allowed`);
    values.forEach((value: unknown, i) => {
      checkValue(value, `${field}[${i}]`);
      if (values.indexOf(value) !== i) fail(`${field}[${i}]`, `repeats ${show(value)}`);
    });
    return [name, values as string[]] as const;
  });
  const rules = (key: string) => {
    const list = own(matrix, key);
    if (list === undefined) return [];
    const field = `${path}.${key}`;
    if (variables.length === 0) fail(field, 'needs matrix variables to refer to');
    if (!Array.isArray(list) || list.length === 0 || list.length > LIMITS.matrixEntries) {
      fail(field, `must be a list of 1 to ${LIMITS.matrixEntries} combinations (objects of variable → value), got ${show(list)}`);
    }
    return list.map((entry: unknown, i) => {
      if (!isObject(entry) || Object.keys(entry).length === 0) fail(`${field}[${i}]`, `must be an object of variable → value, got ${show(entry)}`);
      return entry;
    });
  };
  const exclude = rules('exclude').map((rule, i) => checkExclude(rule, `${path}.exclude[${i}]`, variables));
  const include = rules('include').map((entry, i) => checkInclude(entry, `${path}.include[${i}]`, variables));
  const matrixOnly = { matrix: variables, exclude, include };
  checkIncluded(matrixOnly, path);
  return matrixOnly;
}

function checkValue(value: unknown, field: string): void {
  if (typeof value !== 'string') fail(field, `must be a string${quoteHint(value)}, got ${show(value)}`);
  checkText(value, field, LIMITS.printable);
  // A value is part of the job's title, which a person reads on one line.
  if (CONTROL.test(value)) fail(field, `must not contain a newline, tab or other control character, got ${show(value)}`);
}

function checkExclude(rule: Record<string, unknown>, field: string, variables: Matrix['matrix']): Record<string, string> {
  checkKeys(rule, field, variables.map(([name]) => name));
  for (const [name, values] of variables) {
    const value = own(rule, name);
    if (value !== undefined && !values.includes(value as string)) {
      fail(child(field, name), `must be one of the matrix's values of ${name} (${values.join(', ')}), got ${show(value)}`);
    }
  }
  return Object.fromEntries(Object.entries(rule)) as Record<string, string>;
}

function checkInclude(entry: Record<string, unknown>, field: string, variables: Matrix['matrix']): Combination {
  checkKeys(entry, field, variables.map(([name]) => name));
  return variables.map(([name]) => {
    const value = own(entry, name);
    if (value === undefined) fail(field, `must give a value for every matrix variable (${variables.map(([n]) => n).join(', ')}); ${name} is missing`);
    checkValue(value, child(field, name));
    return [name, value as string] as const;
  });
}

/** An included combination must be new: not one the product already makes (and keeps), nor listed twice. */
function checkIncluded(matrix: Matrix, path: string): void {
  if (matrix.include.length === 0) return;
  if (countCombinations(matrix.matrix) > LIMITS.matrixProduct) return;
  const seen = new Set<string>();
  for (const values of cartesian(matrix.matrix)) if (!isExcluded(values, matrix.exclude)) seen.add(JSON.stringify(values));
  matrix.include.forEach((combination, i) => {
    const key = JSON.stringify(combination);
    if (seen.has(key)) fail(`${path}.include[${i}]`, `adds ${combination.map(([k, v]) => `${k}=${v}`).join(', ')}, which the matrix already makes`);
    seen.add(key);
  });
}

export function parseWhen(when: unknown, path: string): JobCondition | undefined {
  if (when === undefined) return undefined;
  if (!isObject(when) || Object.keys(when).length === 0) fail(path, `must be an object with branches, subjects or paths, got ${show(when)}`);
  checkKeys(when, path, WHEN_KEYS);
  const condition: JobCondition = {};
  const globs = (key: 'branches' | 'paths', what: string) => {
    const value = own(when, key);
    if (value === undefined) return;
    condition[key] = distinctStrings(value, `${path}.${key}`, LIMITS.whenPatterns, what, (item, field) => {
      if (item === '') fail(field, 'must not be empty');
      checkText(item, field, LIMITS.whenPatternChars);
      if (CONTROL.test(item)) fail(field, `must not contain a control character, got ${show(item)}`);
      if (key === 'paths' && item.startsWith('/')) fail(field, `must be relative to the repository root, not start with "/", got ${show(item)}`);
    });
  };
  globs('branches', 'branch names or globs ("release/*")');
  const subjects = own(when, 'subjects');
  if (subjects !== undefined) {
    condition.subjects = distinctStrings(subjects, `${path}.subjects`, SUBJECT_KINDS.length, `of ${SUBJECT_KINDS.join(', ')}`, (item, field) => {
      if (!(SUBJECT_KINDS as readonly string[]).includes(item)) fail(field, `must be one of ${SUBJECT_KINDS.join(', ')}, got ${show(item)}`);
    }) as JobCondition['subjects'];
  }
  globs('paths', 'path globs ("src/**")');
  return condition;
}

export function parseSecrets(secrets: unknown, path: string, taken: ReadonlySet<string>): string[] | undefined {
  if (secrets === undefined) return undefined;
  return distinctStrings(secrets, path, LIMITS.jobSecrets, 'secret names', (name, field) => {
    checkEnvName(name, field);
    if (taken.has(name)) fail(field, 'is also set in env or matrix; a variable comes from one of them');
  });
}

/**
 * keel.json's "testPaths": folders (ending in /) and globs ("**\/*_test.go")
 * of the repository's tests; DEFAULT_TEST_PATHS without it. Throws KeelJsonError.
 */
export function parseTestPaths(doc: Record<string, unknown>): readonly string[] {
  const paths = own(doc, 'testPaths');
  if (paths === undefined) return DEFAULT_TEST_PATHS;
  if (!Array.isArray(paths) || paths.length === 0) fail('testPaths', `must be a non-empty list of paths, got ${show(paths)}`);
  if (paths.length > MAX_TEST_PATHS) fail('testPaths', `lists ${paths.length} paths; at most ${MAX_TEST_PATHS} are allowed`);
  for (const [i, path] of paths.entries()) {
    const field = `testPaths[${i}]`;
    if (typeof path !== 'string' || path === '') fail(field, `must be a path such as "tests/" or "**/*_test.go", got ${show(path)}`);
    checkText(path, field, LIMITS.printable);
    if (CONTROL.test(path) || /^[-:/]/.test(path) || path.split('/').includes('..')) {
      fail(field, 'must be a path inside the repository, not starting with "-", ":" or "/", without ".." and control characters');
    }
  }
  return paths as string[];
}
