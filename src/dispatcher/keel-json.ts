// keel.json: the jobs a repository asks Keel to run for each commit. The
// dispatcher reads the file's text from the commit and hands it here; the
// jobs come from this data alone, never from running repository code there.
// A keel.json may also name a generator (`generate`): a job that runs on a
// runner like any other and prints more jobs in the `jobs` shape, which are
// read here by the same code with the same limits (parseGeneratedJobs).
// Every rule failure names the field, because the message is all the
// committer sees (the build ends as error with it). The rules are the
// protocol's own limits (src/protocol/limits.ts), so every job this accepts
// travels to a runner in a `job` message the runner accepts.
// keel.schema.json states the same rules for editors; docs/keel-json.md for
// people.

import type { JobSpec } from '../protocol/records.js';
import { LIMITS } from '../protocol/limits.js';
import { isName } from '../protocol/validate.js';
import { parseArtifacts } from './keel-json-artifacts.js';
import { checkEnvName, checkKeys, checkText, child, fail, isObject, KeelJsonError, own, quoteHint, show } from './keel-json-check.js';
import { combinationsOf, countCombinations, expandMatrix, type JobTemplate } from './keel-json-matrix.js';
import { DEFAULT_TEST_PATHS, parseMatrix, parseSecrets, parseTestPaths, parseWhen } from './keel-json-parts.js';

export type { JobSpec };
export { KeelJsonError };

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

/** The generator's job id; no other job may be called so while there is one. */
export const GENERATOR_ID = 'generate';

const MAX_FILE_BYTES = LIMITS.keelJsonBytes;
const MAX_JOBS = LIMITS.jobsPerFile;
const MAX_BUILD_JOBS = LIMITS.jobsPerBuild;
const MAX_TEXT = LIMITS.text;
const JOB_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$/;
// "$schema" lets editors find keel.schema.json; it is otherwise ignored.
const TOP_KEYS = ['$schema', 'jobs', 'generate', 'testPaths'] as const;
const JOB_KEYS = ['run', 'env', 'matrix', 'timeout', 'retries', 'retryDelay', 'labels', 'junit', 'artifacts', 'when', 'secrets'] as const;
const GENERATE_KEYS = ['run', 'labels', 'timeout'] as const;

/** The jobs keel.json declares, matrix expanded, in file order; the generator, if any, first. Throws KeelJsonError. */
export function parseKeelJson(text: string): JobSpec[] {
  const doc = parseDocument(text);
  if (!isObject(doc)) fail('', `must hold a JSON object with "jobs", got ${show(doc)}`);
  checkKeys(doc, '', TOP_KEYS);
  const schema = own(doc, '$schema');
  if (schema !== undefined && typeof schema !== 'string') fail('$schema', `must be a string, got ${show(schema)}`);
  parseTestPaths(doc);
  const jobs = own(doc, 'jobs');
  const generate = own(doc, 'generate');
  if (jobs === undefined && generate === undefined) {
    fail('jobs', 'is missing: keel.json must have "jobs", an object of job name → job (or "generate", a command that prints them)');
  }
  const generator = generate === undefined ? [] : [parseGenerate(generate, 'generate')];
  const specs = jobs === undefined ? [] : parseJobs(jobs, 'jobs', generator);
  return [...generator, ...specs];
}

/**
 * The jobs a generator printed: an object in exactly keel.json's `jobs`
 * shape, read by the same code with the same limits; `existing` are the
 * build's jobs so far (their ids are taken, and they count towards the
 * build's total). Errors name "generator output".
 */
export function parseGeneratedJobs(text: string, existing: readonly JobSpec[]): JobSpec[] {
  try {
    return parseJobs(parseDocument(text), '', existing);
  } catch (error) {
    if (!(error instanceof KeelJsonError)) throw error;
    throw new KeelJsonError(error.field, error.problem, { source: 'generator output', cause: error });
  }
}

function parseDocument(text: string): unknown {
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > MAX_FILE_BYTES) fail('', `is ${bytes} bytes; at most ${MAX_FILE_BYTES} (64 KiB) are allowed`);
  try {
    // Editors on some systems write a byte-order mark, which JSON.parse refuses.
    return JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (error) {
    const start = text.trim().slice(0, 60);
    throw new KeelJsonError('', `is not valid JSON: ${(error as Error).message}${start ? ` (it starts ${show(start)})` : ' (it is empty)'}`, { cause: error });
  }
}

function parseJobs(jobs: unknown, path: string, existing: readonly JobSpec[]): JobSpec[] {
  if (!isObject(jobs)) fail(path, `must be an object of job name → job, got ${show(jobs)}`);
  const names = Object.keys(jobs);
  if (names.length === 0) fail(path, 'must declare at least one job, got {}');
  if (names.length > MAX_JOBS) fail(path, `declares ${names.length} jobs; at most ${MAX_JOBS} are allowed`);
  const taken = new Set(existing.map((spec) => spec.id));
  const counted = existing.filter((spec) => !spec.generator).length;
  const specs: JobSpec[] = [];
  for (const name of names) {
    const field = child(path, name);
    if (!JOB_NAME.test(name)) {
      fail(field, 'is not a valid job name: use 1 to 32 letters, digits, "_" or "-", starting with a letter or digit');
    }
    if (taken.has(name)) fail(field, name === GENERATOR_ID ? 'is the generator\'s name: call the job something else' : 'is already a job of this build');
    const template = parseJob(own(jobs, name), field);
    const product = countCombinations(template.matrix);
    const count = product > LIMITS.matrixProduct ? product : combinationsOf(template).length;
    if (count === 0) fail(`${field}.matrix`, 'excludes every combination: the job would never run');
    const total = counted + specs.length + count;
    if (total > MAX_BUILD_JOBS) {
      const shape = template.matrix.map(([, values]) => values.length).join(' × ');
      const made = template.matrix.length > 0 ? `makes ${count} jobs (${shape})` : 'makes 1 job';
      const at = template.matrix.length > 0 ? `${field}.matrix` : field;
      const sum = counted + specs.length > 0 ? `, bringing the total to ${total}` : '';
      fail(at, `${made}${sum}; a build may make at most ${MAX_BUILD_JOBS} jobs in all`);
    }
    const expanded = expandMatrix(name, template);
    checkJobs(expanded, template, field);
    specs.push(...expanded);
  }
  return specs;
}

/** The test paths of a keel.json's text; the default when it has none or cannot be read (its build reports why). */
export function readTestPaths(text: string | null): readonly string[] {
  if (text === null) return DEFAULT_TEST_PATHS;
  try {
    const doc: unknown = JSON.parse(text.replace(/^\uFEFF/, ''));
    return isObject(doc) ? parseTestPaths(doc) : DEFAULT_TEST_PATHS;
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
  const matrix = parseMatrix(own(job, 'matrix'), `${path}.matrix`, env);
  const secrets = parseSecrets(own(job, 'secrets'), `${path}.secrets`, new Set([...Object.keys(env), ...matrix.matrix.map(([name]) => name)]));
  const when = parseWhen(own(job, 'when'), `${path}.when`);
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
    ...matrix,
    timeoutMs: timeout === undefined ? null : seconds(timeout, `${path}.timeout`, 1, 604_800),
    retries: retries as number,
    retryDelayMs: retryDelay === undefined ? 10_000 : seconds(retryDelay, `${path}.retryDelay`, 0, 3600),
    labels: parseLabels(own(job, 'labels'), `${path}.labels`),
    junit: parseJunit(own(job, 'junit'), `${path}.junit`),
    // A job without artifacts has no such key, as specs journaled before artifacts had none.
    ...(artifacts === undefined ? {} : { artifacts }),
    ...(when === undefined ? {} : { when }),
    ...(secrets === undefined ? {} : { secrets }),
  };
}

/** keel.json's `generate`: the command that prints the build's jobs, run on a runner like a job. */
function parseGenerate(generate: unknown, path: string): JobSpec {
  if (!isObject(generate)) fail(path, `must be an object with "run", the command that prints the jobs, got ${show(generate)}`);
  checkKeys(generate, path, GENERATE_KEYS);
  const run = parseRun(own(generate, 'run'), `${path}.run`);
  if (run === null) fail(`${path}.run`, 'is missing: the generator needs a command that prints the jobs');
  const timeout = own(generate, 'timeout');
  return {
    ...DEFAULT_JOB, id: GENERATOR_ID, title: GENERATOR_ID, run,
    timeoutMs: timeout === undefined ? null : seconds(timeout, `${path}.timeout`, 1, 604_800),
    labels: parseLabels(own(generate, 'labels'), `${path}.labels`),
    generator: true,
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
