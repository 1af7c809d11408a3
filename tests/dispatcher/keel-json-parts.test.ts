// keel.json beyond commands: matrix include and exclude, `when`, `secrets`,
// `generate`, and the jobs a generator prints (read by the same code).
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { GENERATOR_ID, KeelJsonError, parseGeneratedJobs, parseKeelJson } from '../../src/dispatcher/keel-json.js';

const parse = (doc: unknown) => parseKeelJson(JSON.stringify(doc));
const job = (fields: object) => ({ jobs: { unit: fields } });
const ids = (doc: unknown) => parse(doc).map((spec) => spec.id);

function refusal(run: () => unknown): KeelJsonError {
  try {
    run();
  } catch (error) {
    assert.ok(error instanceof KeelJsonError, String(error));
    return error;
  }
  return assert.fail('no error');
}

test('exclude drops the combinations that have all of an entry\'s values; include adds whole ones after the product', () => {
  const matrix = {
    NODE: ['18', '20'], OS: ['linux', 'bsd'],
    exclude: [{ NODE: '18', OS: 'bsd' }], include: [{ NODE: '22', OS: 'linux' }],
  };
  assert.deepEqual(ids(job({ matrix })), ['unit.NODE-18.OS-linux', 'unit.NODE-20.OS-linux', 'unit.NODE-20.OS-bsd', 'unit.NODE-22.OS-linux']);
  // A partial entry drops every combination with that value.
  assert.deepEqual(ids(job({ matrix: { NODE: ['18', '20'], OS: ['linux', 'bsd'], exclude: [{ OS: 'bsd' }] } })), ['unit.NODE-18.OS-linux', 'unit.NODE-20.OS-linux']);
  const [added] = parse(job({ matrix: { NODE: ['18'], include: [{ NODE: '22' }] }, env: { X: '1' } })).slice(1);
  assert.deepEqual(added?.env, { X: '1', NODE: '22' });
  assert.equal(added?.title, 'unit (NODE=22)');
});

test('include and exclude are checked against the matrix\'s variables and values', () => {
  const cases: Array<[unknown, string, RegExp]> = [
    [{ NODE: ['18'], exclude: [{ NOD: '18' }] }, 'jobs.unit.matrix.exclude[0].NOD', /did you mean "NODE"/],
    [{ NODE: ['18', '20'], exclude: [{ NODE: '16' }] }, 'jobs.unit.matrix.exclude[0].NODE', /one of the matrix's values of NODE \(18, 20\)/],
    [{ NODE: ['18'], OS: ['x'], include: [{ NODE: '22' }] }, 'jobs.unit.matrix.include[0]', /OS is missing/],
    [{ NODE: ['18'], include: [{ NODE: '18' }] }, 'jobs.unit.matrix.include[0]', /already makes/],
    [{ NODE: ['18'], include: [{ NODE: 'a\nb' }] }, 'jobs.unit.matrix.include[0].NODE', /control character/],
    [{ NODE: ['18'], exclude: [{ NODE: '18' }] }, 'jobs.unit.matrix', /excludes every combination/],
    [{ NODE: ['18'], exclude: [] }, 'jobs.unit.matrix.exclude', /list of 1 to 64/],
    [{ NODE: ['18'], exclude: [{}] }, 'jobs.unit.matrix.exclude[0]', /object of variable/],
    [{ include: [{ NODE: '18' }] }, 'jobs.unit.matrix.include', /needs matrix variables/],
  ];
  for (const [matrix, field, message] of cases) {
    const error = refusal(() => parse(job({ matrix })));
    assert.equal(error.field, field, error.message);
    assert.match(error.message, message);
  }
  // Included combinations count towards the 64 jobs of a build.
  const many = Array.from({ length: 16 }, (_, i) => String(i));
  const error = refusal(() => parse(job({ matrix: { A: many, B: many.slice(0, 4), include: [{ A: 'x', B: 'y' }] } })));
  assert.match(error.message, /makes 65 jobs/);
});

test('when: branches, subjects and paths, each checked', () => {
  const [spec] = parse(job({ when: { branches: ['main', 'release/*'], subjects: ['push', 'land'], paths: ['src/**', 'package.json'] } }));
  assert.deepEqual(spec?.when, { branches: ['main', 'release/*'], subjects: ['push', 'land'], paths: ['src/**', 'package.json'] });
  const cases: Array<[unknown, string]> = [
    [{}, 'jobs.unit.when'],
    [{ branch: ['main'] }, 'jobs.unit.when.branch'],
    [{ branches: [] }, 'jobs.unit.when.branches'],
    [{ branches: 'main' }, 'jobs.unit.when.branches'],
    [{ branches: ['main', 'main'] }, 'jobs.unit.when.branches[1]'],
    [{ subjects: ['commit'] }, 'jobs.unit.when.subjects[0]'],
    [{ paths: ['/etc'] }, 'jobs.unit.when.paths[0]'],
    [{ paths: [''] }, 'jobs.unit.when.paths[0]'],
  ];
  for (const [when, field] of cases) assert.equal(refusal(() => parse(job({ when }))).field, field);
});

test('secrets: variable names, distinct, not also env or matrix, at most 16', () => {
  assert.deepEqual(parse(job({ secrets: ['DEPLOY_TOKEN'] }))[0]?.secrets, ['DEPLOY_TOKEN']);
  // A matrix job's secrets go to every combination.
  assert.ok(parse(job({ secrets: ['T'], matrix: { N: ['1', '2'] } })).every((spec) => spec.secrets?.[0] === 'T'));
  const cases: Array<[object, string]> = [
    [{ secrets: ['KEEL_X'] }, 'jobs.unit.secrets[0]'],
    [{ secrets: ['A-B'] }, 'jobs.unit.secrets[0]'],
    [{ secrets: ['T', 'T'] }, 'jobs.unit.secrets[1]'],
    [{ secrets: ['T'], env: { T: 'x' } }, 'jobs.unit.secrets[0]'],
    [{ secrets: ['N'], matrix: { N: ['1'] } }, 'jobs.unit.secrets[0]'],
    [{ secrets: Array.from({ length: 17 }, (_, i) => `S${i}`) }, 'jobs.unit.secrets'],
    [{ secrets: [] }, 'jobs.unit.secrets'],
  ];
  for (const [fields, field] of cases) assert.equal(refusal(() => parse(job(fields))).field, field);
});

test('generate: a job of its own, first, with run, labels and timeout only; jobs become optional', () => {
  const specs = parse({ generate: { run: 'python3 ci/jobs.py', labels: ['linux'], timeout: 60 }, jobs: { lint: { run: 'true' } } });
  assert.deepEqual(specs.map((spec) => [spec.id, spec.generator ?? false]), [[GENERATOR_ID, true], ['lint', false]]);
  assert.deepEqual(specs[0]?.run, ['sh', '-c', 'python3 ci/jobs.py']);
  assert.equal(specs[0]?.timeoutMs, 60_000);
  assert.deepEqual(specs[0]?.labels, ['linux']);
  assert.deepEqual(ids({ generate: { run: ['./gen'] } }), [GENERATOR_ID]);
  assert.equal(refusal(() => parse({ generate: { run: 'x' }, jobs: { generate: {} } })).field, 'jobs.generate');
  assert.equal(refusal(() => parse({ generate: { run: 'x', env: {} } })).field, 'generate.env');
  assert.equal(refusal(() => parse({ generate: {} })).field, 'generate.run');
  assert.equal(refusal(() => parse({ generate: 'x' })).field, 'generate');
  assert.match(refusal(() => parse({})).message, /"jobs".*or "generate"/);
});

test('the jobs a generator prints are read by the same code, with the same limits; errors name the generator output', () => {
  const existing = parse({ generate: { run: 'x' }, jobs: { lint: {} } });
  const generated = parseGeneratedJobs(JSON.stringify({ unit: { run: 'npm test', matrix: { N: ['1', '2'] } } }), existing);
  assert.deepEqual(generated.map((spec) => spec.id), ['unit.N-1', 'unit.N-2']);
  const error = (text: string) => refusal(() => parseGeneratedJobs(text, existing));
  assert.equal(error('{"unit": {"run": 42}}').message, 'generator output: unit.run must be a command string or a list of 1 to 64 argument strings, got 42');
  assert.match(error('this is not json').message, /^generator output: is not valid JSON: .*it starts "this is not json"/);
  assert.match(error('').message, /it is empty/);
  assert.match(error('[]').message, /^generator output: must be an object of job name → job/);
  assert.match(error('{"lint": {}}').message, /^generator output: lint is already a job of this build/);
  assert.match(error('{"generate": {}}').message, /generator's name/);
  const many = JSON.stringify(Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`j${i}`, {}])));
  assert.match(error(many).message, /^generator output: declares 33 jobs; at most 32 are allowed/);
  // The static jobs count towards the build's 64 (the generator does not).
  const wide = JSON.stringify({ a: { matrix: { A: Array.from({ length: 16 }, (_, i) => String(i)), B: ['1', '2', '3', '4'] } } });
  assert.match(error(wide).message, /makes 64 jobs \(16 × 4\), bringing the total to 65; a build may make at most 64/);
  const huge = JSON.stringify(Object.fromEntries(Array.from({ length: 10_000 }, (_, i) => [`j${i}`, {}])));
  assert.match(error(huge).message, /^generator output: is \d+ bytes; at most 65536 \(64 KiB\) are allowed/);
});
