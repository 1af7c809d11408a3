// keel.json: the jobs a repository asks Keel to run for each commit. The
// dispatcher reads the file's text from the commit and hands it here; the
// jobs come from this data alone, never from running repository code. Every
// rule failure names the field, because the message is all the committer sees
// (the build ends as error with it). The rules are the protocol's own limits
// (src/protocol/limits.ts), so every job this accepts travels to a runner in
// a `job` message the runner accepts. keel.schema.json states the same rules
// for editors; docs/keel-json.md for people.

import type { JobSpec } from '../protocol/records.js';
import { ErrorCode, KeelError } from '../protocol/error-codes.js';
import { describeValue } from '../protocol/errors.js';
import { LIMITS } from '../protocol/limits.js';
import { isName } from '../protocol/validate.js';
import { parseArtifacts } from './keel-json-artifacts.js';
import { countCombinations, expandMatrix, type JobTemplate } from './keel-json-matrix.js';

export type { JobSpec };

export class KeelJsonError extends KeelError {
  override readonly name = 'KeelJsonError';
  /** Where the problem is, e.g. "jobs.unit.matrix.NODE[1]"; "" for the file as a whole. */
  readonly field: string;

  constructor(field: string, problem: string, options?: { cause?: unknown }) {
    super(ErrorCode.badKeelJson, `keel.json: ${field === '' ? '' : `${field} `}${problem}`, options);
    this.field = field;
  }
}

/** What a commit without keel.json runs. Frozen: it is shared. */
export const DEFAULT_JOB: JobSpec = Object.freeze({
  id: 'tests',
  title: 'tests',
  run: null,
  env: Object.freeze({}) as Record<string, string>,
  timeoutMs: null,
  retries: 0,
  retryDelayMs: 10_000,
  labels: Object.freeze([]) as unknown as string[],
  junit: null,
});

const MAX_FILE_BYTES = LIMITS.keelJsonBytes;
const MAX_JOBS = LIMITS.jobsPerFile;
const MAX_BUILD_JOBS = LIMITS.jobsPerBuild;
const MAX_TEXT = LIMITS.text;
const JOB_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$/;
const ENV_NAME = new RegExp(`^[A-Za-z_][A-Za-z0-9_]{0,${LIMITS.envName - 1}}$`);
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;
// Keys shown as .key in a field path; anything else is shown as ["key"].
const PLAIN_KEY = /^[A-Za-z0-9_-]{1,64}$/;
// "$schema" lets editors find keel.schema.json; it is otherwise ignored.
const TOP_KEYS = ['$schema', 'jobs', 'testPaths'] as const;
/** What counts as a test file when a patch's tests are tried without its fix. */
export const DEFAULT_TEST_PATHS: readonly string[] = Object.freeze(['tests/']);
const MAX_TEST_PATHS = 32;
const JOB_KEYS = ['run', 'env', 'matrix', 'timeout', 'retries', 'retryDelay', 'labels', 'junit', 'artifacts'] as const;

/** The jobs keel.json declares, matrix expanded, in file order. Throws KeelJsonError. */
export function parseKeelJson(text: string): JobSpec[] {
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > MAX_FILE_BYTES) fail('', `is ${bytes} bytes; at most ${MAX_FILE_BYTES} (64 KiB) are allowed`);
  let doc: unknown;
  try {
    // Editors on some systems write a byte-order mark, which JSON.parse refuses.
    doc = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (error) {
    throw new KeelJsonError('', `is not valid JSON: ${(error as Error).message}`, { cause: error });
  }
  if (!isObject(doc)) fail('', `must hold a JSON object with "jobs", got ${show(doc)}`);
  checkKeys(doc, '', TOP_KEYS);
  const schema = own(doc, '$schema');
  if (schema !== undefined && typeof schema !== 'string') fail('$schema', `must be a string, got ${show(schema)}`);
  testPathsOf(doc);
  const jobs = own(doc, 'jobs');
  if (jobs === undefined) fail('jobs', 'is missing: keel.json must have "jobs", an object of job name → job');
  if (!isObject(jobs)) fail('jobs', `must be an object of job name → job, got ${show(jobs)}`);
  const names = Object.keys(jobs);
  if (names.length === 0) fail('jobs', 'must declare at least one job, got {}');
  if (names.length > MAX_JOBS) fail('jobs', `declares ${names.length} jobs; at most ${MAX_JOBS} are allowed`);

  const specs: JobSpec[] = [];
  for (const name of names) {
    const path = child('jobs', name);
    if (!JOB_NAME.test(name)) {
      fail(path, 'is not a valid job name: use 1 to 32 letters, digits, "_" or "-", starting with a letter or digit');
    }
    const template = parseJob(own(jobs, name), path);
    const count = countCombinations(template.matrix);
    const total = specs.length + count;
    if (total > MAX_BUILD_JOBS) {
      const shape = template.matrix.map(([, values]) => values.length).join(' × ');
      const made = template.matrix.length > 0 ? `makes ${count} jobs (${shape})` : 'makes 1 job';
      const field = template.matrix.length > 0 ? `${path}.matrix` : path;
      const sum = specs.length > 0 ? `, bringing the total to ${total}` : '';
      fail(field, `${made}${sum}; a keel.json may make at most ${MAX_BUILD_JOBS} jobs in all`);
    }
    const expanded = expandMatrix(name, template);
    checkJobs(expanded, template, path);
    specs.push(...expanded);
  }
  return specs;
}

/**
 * keel.json's "testPaths": folders (ending in /) and globs ("**\/*_test.go")
 * of the repository's tests; DEFAULT_TEST_PATHS without it. Throws KeelJsonError.
 */
function testPathsOf(doc: Record<string, unknown>): readonly string[] {
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

/** The test paths of a keel.json's text; the default when it has none or cannot be read (its build reports why). */
export function readTestPaths(text: string | null): readonly string[] {
  if (text === null) return DEFAULT_TEST_PATHS;
  try {
    const doc: unknown = JSON.parse(text.replace(/^\uFEFF/, ''));
    return isObject(doc) ? testPathsOf(doc) : DEFAULT_TEST_PATHS;
  } catch {
    return DEFAULT_TEST_PATHS;
  }
}

/** What the job message must hold: titles a person reads on one line, and a bounded size. */
function checkJobs(specs: JobSpec[], template: JobTemplate, path: string): void {
  const variables = Object.keys(template.env).length + template.matrix.length;
  if (variables > LIMITS.envVariables) {
    fail(template.matrix.length > 0 ? `${path}.matrix` : `${path}.env`,
      `with env makes ${variables} variables for each job; at most ${LIMITS.envVariables} are allowed in all`);
  }
  for (const spec of specs) {
    if (spec.title.length > LIMITS.printable) {
      fail(`${path}.matrix`, `makes the job title "${spec.title.slice(0, 60)}…" of ${spec.title.length} characters; at most ${LIMITS.printable} are allowed: use shorter values or fewer variables`);
    }
    const bytes = Buffer.byteLength(JSON.stringify({ run: spec.run, env: spec.env }));
    if (bytes > LIMITS.jobSpecBytes) fail(path, `makes a job of ${bytes} bytes (run and env); at most ${LIMITS.jobSpecBytes} are allowed`);
  }
}

/** The wait before retry `retry` (1-based): retry × retryDelay, so 10 s, 20 s, 30 s… */
export function retryDelayMs(spec: JobSpec, retry: number): number {
  if (!Number.isInteger(retry) || retry < 1) throw new RangeError(`retry must be a whole number from 1, got ${retry}`);
  return retry * spec.retryDelayMs;
}

function parseJob(job: unknown, path: string): JobTemplate {
  if (!isObject(job)) fail(path, `must be an object describing the job, got ${show(job)}`);
  checkKeys(job, path, JOB_KEYS);
  const env = parseEnv(own(job, 'env'), `${path}.env`);
  const timeout = own(job, 'timeout');
  const retries = own(job, 'retries') ?? 0;
  const retryDelay = own(job, 'retryDelay');
  const artifacts = parseArtifacts(own(job, 'artifacts'), `${path}.artifacts`);
  if (!Number.isInteger(retries) || (retries as number) < 0 || (retries as number) > LIMITS.retries) {
    fail(`${path}.retries`, `must be a whole number from 0 to ${LIMITS.retries}, got ${show(retries)}`);
  }
  return {
    run: parseRun(own(job, 'run'), `${path}.run`),
    env,
    matrix: parseMatrix(own(job, 'matrix'), `${path}.matrix`, env),
    timeoutMs: timeout === undefined ? null : seconds(timeout, `${path}.timeout`, 1, 604_800),
    retries: retries as number,
    retryDelayMs: retryDelay === undefined ? 10_000 : seconds(retryDelay, `${path}.retryDelay`, 0, 3600),
    labels: parseLabels(own(job, 'labels'), `${path}.labels`),
    junit: parseJunit(own(job, 'junit'), `${path}.junit`),
    // A job without artifacts has no such key, as specs journaled before artifacts had none.
    ...(artifacts === undefined ? {} : { artifacts }),
  };
}

function parseRun(run: unknown, path: string): string[] | null {
  if (run === undefined) return null;
  if (typeof run === 'string') {
    if (run.trim() === '') fail(path, `must be a non-empty command, got ${show(run)}`);
    checkText(run, path, MAX_TEXT);
    return ['sh', '-c', run];
  }
  if (!Array.isArray(run) || run.length === 0 || run.length > LIMITS.runArgs) {
    fail(path, `must be a command string or a list of 1 to ${LIMITS.runArgs} argument strings, got ${show(run)}`);
  }
  run.forEach((arg: unknown, i) => {
    if (typeof arg !== 'string' || arg === '') fail(`${path}[${i}]`, `must be a non-empty string, got ${show(arg)}`);
    checkText(arg, `${path}[${i}]`, MAX_TEXT);
  });
  return [...(run as string[])];
}

function parseEnv(env: unknown, path: string): Record<string, string> {
  if (env === undefined) return {};
  if (!isObject(env)) fail(path, `must be an object of variable name → string, got ${show(env)}`);
  const names = Object.keys(env);
  if (names.length > LIMITS.envVariables) fail(path, `sets ${names.length} variables; at most ${LIMITS.envVariables} are allowed`);
  for (const name of names) {
    const field = child(path, name);
    checkEnvName(name, field);
    const value = own(env, name);
    if (typeof value !== 'string') fail(field, `must be a string${quoteHint(value)}, got ${show(value)}`);
    checkText(value, field, MAX_TEXT);
  }
  return Object.fromEntries(names.map((name) => [name, own(env, name) as string]));
}

function parseMatrix(matrix: unknown, path: string, env: Record<string, string>): JobTemplate['matrix'] {
  if (matrix === undefined) return [];
  if (!isObject(matrix)) fail(path, `must be an object of variable name → list of values, got ${show(matrix)}`);
  const names = Object.keys(matrix);
  if (names.length > LIMITS.matrixVariables) fail(path, `has ${names.length} variables; at most ${LIMITS.matrixVariables} are allowed`);
  return names.map((name) => {
    const field = child(path, name);
    checkEnvName(name, field);
    if (Object.hasOwn(env, name)) fail(field, 'is also set in env; a variable comes from env or from matrix, not both');
    const values = own(matrix, name);
    if (!Array.isArray(values) || values.length === 0) fail(field, `must be a non-empty list of strings, got ${show(values)}`);
    if (values.length > LIMITS.matrixValues) fail(field, `has ${values.length} values; at most ${LIMITS.matrixValues} are allowed`);
    values.forEach((value: unknown, i) => {
      if (typeof value !== 'string') fail(`${field}[${i}]`, `must be a string${quoteHint(value)}, got ${show(value)}`);
      checkText(value, `${field}[${i}]`, LIMITS.printable);
      // A value is part of the job's title, which a person reads on one line.
      if (CONTROL.test(value)) fail(`${field}[${i}]`, `must not contain a newline, tab or other control character, got ${show(value)}`);
      if (values.indexOf(value) !== i) fail(`${field}[${i}]`, `repeats ${show(value)}`);
    });
    return [name, values as string[]] as const;
  });
}

function parseLabels(labels: unknown, path: string): string[] {
  if (labels === undefined) return [];
  if (!Array.isArray(labels) || labels.length > LIMITS.jobLabels) fail(path, `must be a list of at most ${LIMITS.jobLabels} runner labels, got ${show(labels)}`);
  labels.forEach((label: unknown, i) => {
    if (typeof label !== 'string' || !isName(label)) {
      fail(`${path}[${i}]`, `must be a label of 1 to 64 letters, digits, ".", "_" or "-", starting with a letter or digit, got ${show(label)}`);
    }
    if (labels.indexOf(label) !== i) fail(`${path}[${i}]`, `repeats ${show(label)}`);
  });
  return [...(labels as string[])];
}

function parseJunit(junit: unknown, path: string): string | null {
  if (junit === undefined) return null;
  if (typeof junit !== 'string' || junit === '') fail(path, `must be a path inside the repository, got ${show(junit)}`);
  checkText(junit, path, LIMITS.junitPath);
  if (junit.includes('\\')) fail(path, `must separate directories with "/", not "\\", got ${show(junit)}`);
  if (junit.startsWith('/')) fail(path, `must be relative to the repository root, not start with "/", got ${show(junit)}`);
  if (junit.split('/').includes('..')) fail(path, `must stay inside the repository (no ".." part), got ${show(junit)}`);
  return junit;
}

function seconds(value: unknown, path: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    fail(path, `must be a number of seconds from ${min} to ${max}, got ${show(value)}`);
  }
  return Math.round(value * 1000);
}

function checkEnvName(name: string, field: string): void {
  if (!ENV_NAME.test(name)) {
    fail(field, 'is not a valid variable name: use letters, digits and "_", not starting with a digit, at most 128 characters');
  }
  if (name.startsWith('KEEL_')) fail(field, 'is reserved: variables starting with KEEL_ are set by Keel');
  if (name === 'PATH' || name === 'HOME') fail(field, `cannot be set: the runner sets ${name} itself`);
}

function checkText(text: string, field: string, max: number): void {
  if (text.length > max) fail(field, `is ${text.length} characters long; at most ${max} are allowed`);
  if (text.includes('\0')) fail(field, 'must not contain a NUL character');
}

/** Fails on the first key not in `known`, suggesting the nearest known one. */
function checkKeys(object: Record<string, unknown>, path: string, known: readonly string[]): void {
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

function child(path: string, key: string): string {
  if (!PLAIN_KEY.test(key)) return `${path}[${describeValue(key)}]`;
  return path === '' ? key : `${path}.${key}`;
}

function own(object: Record<string, unknown>, key: string): unknown {
  return Object.hasOwn(object, key) ? object[key] : undefined;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Numbers as written (describeValue would show Infinity as null). */
function show(value: unknown): string {
  return typeof value === 'number' ? String(value) : describeValue(value);
}

function quoteHint(value: unknown): string {
  return typeof value === 'number' || typeof value === 'boolean' ? ` (put it in quotes: "${String(value)}")` : '';
}

function fail(field: string, problem: string): never {
  throw new KeelJsonError(field, problem);
}
