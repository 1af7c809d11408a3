import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { DEFAULT_JOB, readTestPaths, KeelJsonError, parseKeelJson, retryDelayMs, type JobSpec } from '../../src/dispatcher/keel-json.js';

const EXAMPLE = {
  jobs: {
    unit: {
      run: 'npm test',
      env: { CI_FLAVOUR: 'full' },
      matrix: { NODE: ['18', '20'], OS: ['linux', 'bsd'] },
      timeout: 600,
      retries: 2,
      retryDelay: 10,
      labels: ['linux'],
      junit: 'reports/junit.xml',
    },
    lint: { run: ['npx', 'eslint', '.'] },
  },
};

type Schema = Record<string, any>;
const schema: Schema = JSON.parse(readFileSync(new URL('../../keel.schema.json', import.meta.url), 'utf8'));

const parse = (doc: unknown): JobSpec[] => parseKeelJson(JSON.stringify(doc));
const job = (fields: object) => ({ jobs: { unit: fields } });

test('the example makes four unit jobs, first matrix variable slowest, then lint', () => {
  const specs = parse(EXAMPLE);
  assert.deepEqual(
    specs.map((s) => [s.id, s.title]),
    [
      ['unit.NODE-18.OS-linux', 'unit (NODE=18, OS=linux)'],
      ['unit.NODE-18.OS-bsd', 'unit (NODE=18, OS=bsd)'],
      ['unit.NODE-20.OS-linux', 'unit (NODE=20, OS=linux)'],
      ['unit.NODE-20.OS-bsd', 'unit (NODE=20, OS=bsd)'],
      ['lint', 'lint'],
    ],
  );
  assert.deepEqual(specs[1], {
    id: 'unit.NODE-18.OS-bsd',
    title: 'unit (NODE=18, OS=bsd)',
    run: ['sh', '-c', 'npm test'],
    env: { CI_FLAVOUR: 'full', NODE: '18', OS: 'bsd' },
    timeoutMs: 600_000,
    retries: 2,
    retryDelayMs: 10_000,
    labels: ['linux'],
    junit: 'reports/junit.xml',
  });
  assert.deepEqual(specs[4], { ...DEFAULT_JOB, id: 'lint', title: 'lint', run: ['npx', 'eslint', '.'] });
  assert.deepEqual(specs.map((s) => s.env), [
    { CI_FLAVOUR: 'full', NODE: '18', OS: 'linux' },
    { CI_FLAVOUR: 'full', NODE: '18', OS: 'bsd' },
    { CI_FLAVOUR: 'full', NODE: '20', OS: 'linux' },
    { CI_FLAVOUR: 'full', NODE: '20', OS: 'bsd' },
    {},
  ]);
  // Each job owns its arrays, so a caller may change one without touching another.
  assert.notEqual(specs[0]?.labels, specs[1]?.labels);
  assert.notEqual(specs[0]?.run, specs[1]?.run);
});

test('a job with nothing set gets the defaults; DEFAULT_JOB is the no-keel.json job and frozen', () => {
  assert.deepEqual(parse({ jobs: { a: {} } }), [{ ...DEFAULT_JOB, id: 'a', title: 'a' }]);
  assert.deepEqual(DEFAULT_JOB, {
    id: 'tests', title: 'tests', run: null, env: {}, timeoutMs: null, retries: 0, retryDelayMs: 10_000, labels: [], junit: null,
  });
  assert.ok(Object.isFrozen(DEFAULT_JOB) && Object.isFrozen(DEFAULT_JOB.env) && Object.isFrozen(DEFAULT_JOB.labels));
});

test('run: a string goes through sh -c as it is; a list is the argv', () => {
  assert.deepEqual(parse(job({ run: 'make check && echo "ok; done"' }))[0]?.run, ['sh', '-c', 'make check && echo "ok; done"']);
  assert.deepEqual(parse(job({ run: ['node', '--test', 'a b', '$HOME'] }))[0]?.run, ['node', '--test', 'a b', '$HOME']);
});

test('seconds become milliseconds, fractions included; a byte-order mark is tolerated', () => {
  const [spec] = parseKeelJson(`\uFEFF${JSON.stringify(job({ timeout: 1.5, retryDelay: 0.25, retries: 0 }))}`);
  assert.equal(spec?.timeoutMs, 1500);
  assert.equal(spec?.retryDelayMs, 250);
  assert.equal(spec?.retries, 0);
});

test('retry n waits n × retryDelay', () => {
  const [spec] = parse(EXAMPLE) as [JobSpec];
  assert.deepEqual([1, 2, 3].map((n) => retryDelayMs(spec, n)), [10_000, 20_000, 30_000]);
  assert.equal(retryDelayMs({ ...spec, retryDelayMs: 0 }, 5), 0);
  assert.throws(() => retryDelayMs(spec, 0), RangeError);
  assert.throws(() => retryDelayMs(spec, 1.5), RangeError);
});

test('"$schema" is allowed so editors can find keel.schema.json', () => {
  assert.equal(parse({ $schema: './keel.schema.json', jobs: { a: {} } }).length, 1);
});

test('a variable called __proto__ stays an ordinary variable', () => {
  const [spec] = parse(job({ env: JSON.parse('{"__proto__": "x"}'), matrix: { constructor: ['y'] } }));
  assert.equal(Object.getPrototypeOf(spec?.env), Object.prototype);
  assert.deepEqual(Object.entries(spec?.env ?? {}), [['__proto__', 'x'], ['constructor', 'y']]);
});

test('ids: values are reduced to [A-Za-z0-9._-]; collisions or long ids number the whole job', () => {
  const ids = (matrix: object) => parse(job({ matrix })).map((s) => s.id);
  assert.deepEqual(ids({ V: ['ubuntu 22.04', 'a/b', 'é', '', '1.x'] }), ['unit.V-ubuntu_22.04', 'unit.V-a_b', 'unit.V-_', 'unit.V-', 'unit.V-1.x']);
  assert.deepEqual(ids({ V: ['a b', 'a_b', 'c'] }), ['unit.1', 'unit.2', 'unit.3']);
  assert.deepEqual(ids({ V: ['é', 'è'] }), ['unit.1', 'unit.2']);
  assert.deepEqual(ids({ V: ['short', 'x'.repeat(60)] }), ['unit.1', 'unit.2']);
  assert.deepEqual(ids({}), ['unit']);
  assert.deepEqual(ids({ V: ['only'] }), ['unit.V-only']);
  const titles = parse(job({ matrix: { V: ['a b'], W: ['c=d'] } })).map((s) => s.title);
  assert.deepEqual(titles, ['unit (V=a b, W=c=d)']);
  for (const spec of parse({ jobs: { ['j'.repeat(32)]: { matrix: { ['N'.repeat(128)]: ['1', '2'] } }, x: {} } })) {
    assert.match(spec.id, /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/);
  }
});

test('exactly 64 jobs across the file are allowed', () => {
  const four = { matrix: { A: ['1', '2', '3', '4'], B: ['1', '2', '3', '4'] } };
  assert.equal(parse({ jobs: { a: four, b: four, c: four, d: four } }).length, 64);
});

const many = <T>(n: number, make: (i: number) => T): T[] => Array.from({ length: n }, (_, i) => make(i));
const five = ['1', '2', '3', '4', '5'];

// [what, keel.json text or document, field, schema can tell?]
const INVALID: Array<[string, unknown, string, boolean?]> = [
  ['not JSON', '{"jobs": {', '', false],
  ['an array at the top', '[]', ''],
  ['a string at the top', '"jobs"', ''],
  ['no jobs', {}, 'jobs'],
  ['jobs not an object', { jobs: [] }, 'jobs'],
  ['no job', { jobs: {} }, 'jobs'],
  ['33 jobs', { jobs: Object.fromEntries(many(33, (i) => [`j${i}`, {}])) }, 'jobs'],
  ['a job name with a space', { jobs: { 'a b': {} } }, 'jobs["a b"]'],
  ['a job name with a dot', { jobs: { 'a.b': {} } }, 'jobs["a.b"]'],
  ['a job name starting with "-"', { jobs: { '-a': {} } }, 'jobs.-a'],
  ['a 33-character job name', { jobs: { ['a'.repeat(33)]: {} } }, `jobs.${'a'.repeat(33)}`],
  ['a job that is not an object', { jobs: { a: 'npm test' } }, 'jobs.a'],
  ['an empty run', job({ run: '' }), 'jobs.unit.run'],
  ['a blank run', job({ run: '  \n' }), 'jobs.unit.run'],
  ['a number run', job({ run: 42 }), 'jobs.unit.run'],
  ['an empty argv', job({ run: [] }), 'jobs.unit.run'],
  ['an argv with a number', job({ run: ['node', 1] }), 'jobs.unit.run[1]'],
  ['an argv with an empty string', job({ run: ['node', ''] }), 'jobs.unit.run[1]'],
  ['an argv of 65', job({ run: many(65, () => 'x') }), 'jobs.unit.run'],
  ['a run with NUL', job({ run: 'a\0b' }), 'jobs.unit.run'],
  ['a run over 4096 characters', job({ run: 'x'.repeat(4097) }), 'jobs.unit.run'],
  ['env not an object', job({ env: ['A=1'] }), 'jobs.unit.env'],
  ['an env name with "-"', job({ env: { 'BAD-NAME': 'x' } }), 'jobs.unit.env.BAD-NAME'],
  ['an env name starting with a digit', job({ env: { '1X': 'x' } }), 'jobs.unit.env.1X'],
  ['env KEEL_X', job({ env: { KEEL_X: 'x' } }), 'jobs.unit.env.KEEL_X'],
  ['env PATH', job({ env: { PATH: '/bin' } }), 'jobs.unit.env.PATH'],
  ['env HOME', job({ env: { HOME: '/tmp' } }), 'jobs.unit.env.HOME'],
  ['an env value that is a number', job({ env: { N: 18 } }), 'jobs.unit.env.N'],
  ['an env value with NUL', job({ env: { N: '\0' } }), 'jobs.unit.env.N'],
  ['65 env variables', job({ env: Object.fromEntries(many(65, (i) => [`V${i}`, ''])) }), 'jobs.unit.env'],
  ['a matrix list that is a number', job({ matrix: { NODE: 18 } }), 'jobs.unit.matrix.NODE'],
  ['an empty matrix list', job({ matrix: { NODE: [] } }), 'jobs.unit.matrix.NODE'],
  ['matrix numbers', job({ matrix: { NODE: ['18', 20] } }), 'jobs.unit.matrix.NODE[1]'],
  ['a repeated matrix value', job({ matrix: { NODE: ['18', '18'] } }), 'jobs.unit.matrix.NODE[1]'],
  ['a matrix list of 17', job({ matrix: { N: many(17, String) } }), 'jobs.unit.matrix.N'],
  ['a matrix value over 256', job({ matrix: { N: ['x'.repeat(257)] } }), 'jobs.unit.matrix.N[0]'],
  ['a matrix name KEEL_X', job({ matrix: { KEEL_X: ['1'] } }), 'jobs.unit.matrix.KEEL_X'],
  ['a matrix of 125', job({ matrix: { A: five, B: five, C: five } }), 'jobs.unit.matrix', false],
  ['65 jobs across the file', { jobs: { a: { matrix: { N: many(16, String), M: five.slice(0, 4) } }, b: {} } }, 'jobs.b', false],
  ['a matrix name also in env', job({ env: { NODE: '18' }, matrix: { NODE: ['20'] } }), 'jobs.unit.matrix.NODE', false],
  ['timeout 0', job({ timeout: 0 }), 'jobs.unit.timeout'],
  ['timeout "60"', job({ timeout: '60' }), 'jobs.unit.timeout'],
  ['timeout over 7 days', job({ timeout: 604_801 }), 'jobs.unit.timeout'],
  ['timeout null', job({ timeout: null }), 'jobs.unit.timeout'],
  ['retries 11', job({ retries: 11 }), 'jobs.unit.retries'],
  ['retries 1.5', job({ retries: 1.5 }), 'jobs.unit.retries'],
  ['retries "2"', job({ retries: '2' }), 'jobs.unit.retries'],
  ['retryDelay -1', job({ retryDelay: -1 }), 'jobs.unit.retryDelay'],
  ['retryDelay 3601', job({ retryDelay: 3601 }), 'jobs.unit.retryDelay'],
  ['labels not a list', job({ labels: 'linux' }), 'jobs.unit.labels'],
  ['a label "../x"', job({ labels: ['linux', '../x'] }), 'jobs.unit.labels[1]'],
  ['a repeated label', job({ labels: ['linux', 'linux'] }), 'jobs.unit.labels[1]'],
  ['junit "/etc/passwd"', job({ junit: '/etc/passwd' }), 'jobs.unit.junit'],
  ['junit "../x"', job({ junit: '../x' }), 'jobs.unit.junit'],
  ['junit "a/../../b"', job({ junit: 'a/../../b' }), 'jobs.unit.junit'],
  ['junit "a/.."', job({ junit: 'a/..' }), 'jobs.unit.junit'],
  ['junit with a backslash', job({ junit: 'reports\\junit.xml' }), 'jobs.unit.junit'],
  ['junit empty', job({ junit: '' }), 'jobs.unit.junit'],
  ['junit over 512', job({ junit: 'x'.repeat(513) }), 'jobs.unit.junit'],
  ['artifacts not a list', job({ artifacts: 'dist/**' }), 'jobs.unit.artifacts'],
  ['artifacts empty', job({ artifacts: [] }), 'jobs.unit.artifacts'],
  ['17 artifacts', job({ artifacts: many(17, (i) => `d${i}`) }), 'jobs.unit.artifacts'],
  ['an artifact "../secret"', job({ artifacts: ['dist/**', '../secret'] }), 'jobs.unit.artifacts[1]'],
  ['an artifact "a/../../b"', job({ artifacts: ['a/../../b'] }), 'jobs.unit.artifacts[0]'],
  ['an artifact "/etc/passwd"', job({ artifacts: ['/etc/passwd'] }), 'jobs.unit.artifacts[0]'],
  ['an artifact "./x"', job({ artifacts: ['./x'] }), 'jobs.unit.artifacts[0]'],
  ['an artifact "a//b"', job({ artifacts: ['a//b'] }), 'jobs.unit.artifacts[0]'],
  ['an artifact with a backslash', job({ artifacts: ['dist\\x'] }), 'jobs.unit.artifacts[0]'],
  ['an artifact with a newline', job({ artifacts: ['a\nb'] }), 'jobs.unit.artifacts[0]'],
  ['an artifact repeated', job({ artifacts: ['a', 'a'] }), 'jobs.unit.artifacts[1]', false],
  ['an artifact over 256', job({ artifacts: ['x'.repeat(257)] }), 'jobs.unit.artifacts[0]'],
  ['an artifact that is a number', job({ artifacts: [7] }), 'jobs.unit.artifacts[0]'],
  ['an unknown key at the top', { jobs: { a: {} }, job: {} }, 'job'],
  ['an unknown key in a job', job({ retires: 2 }), 'jobs.unit.retires'],
  ['a wrongly cased key', job({ Timeout: 60 }), 'jobs.unit.Timeout'],
  ['"$schema" not a string', { $schema: 1, jobs: { a: {} } }, '$schema'],
  ['a file over 64 KiB', `{"jobs": {"a": {}}}${' '.repeat(64 * 1024)}`, '', false],
  ['testPaths empty', { jobs: { a: {} }, testPaths: [] }, 'testPaths'],
  ['testPaths not a list', { jobs: { a: {} }, testPaths: 'tests/' }, 'testPaths'],
  ['testPaths holding a number', { jobs: { a: {} }, testPaths: [1] }, 'testPaths[0]'],
  ['testPaths leaving the repository', { jobs: { a: {} }, testPaths: ['tests/../../etc'] }, 'testPaths[0]', false],
  ['testPaths as pathspec magic', { jobs: { a: {} }, testPaths: [':(top)x'] }, 'testPaths[0]'],
  ['testPaths as an option', { jobs: { a: {} }, testPaths: ['--all'] }, 'testPaths[0]'],
];

test('testPaths: what counts as a test file for a patch\'s fix check, tests/ without it', () => {
  assert.deepEqual(parse({ jobs: { a: {} }, testPaths: ['tests/', '**/*_test.go'] }).length, 1);
  assert.deepEqual(readTestPaths(JSON.stringify({ jobs: { a: {} }, testPaths: ['spec/', '**/*_test.go'] })), ['spec/', '**/*_test.go']);
  assert.deepEqual(readTestPaths(JSON.stringify({ jobs: { a: {} } })), ['tests/']);
  assert.deepEqual(readTestPaths(null), ['tests/'], 'no keel.json');
  assert.deepEqual(readTestPaths('{"jobs":'), ['tests/'], 'a broken keel.json: its build says why');
});

test('each bad keel.json throws KeelJsonError naming the field', async (t) => {
  for (const [what, doc, field] of INVALID) {
    await t.test(what, () => {
      const text = typeof doc === 'string' ? doc : JSON.stringify(doc);
      assert.throws(
        () => parseKeelJson(text),
        (error: unknown) => {
          assert.ok(error instanceof KeelJsonError, `${what}: ${String(error)}`);
          assert.equal(error.name, 'KeelJsonError');
          assert.equal(error.code, 'bad-keel-json');
          assert.equal(error.field, field, error.message);
          assert.ok(error.message.startsWith(`keel.json: ${field}`), error.message);
          assert.ok(error.message.length < 400, error.message);
          return true;
        },
      );
    });
  }
});

test('messages say what is wrong and how to fix it', () => {
  const message = (doc: unknown) => {
    try {
      parse(doc);
    } catch (error) {
      return (error as Error).message;
    }
    assert.fail('no error');
  };
  assert.equal(message(job({ matrix: { NODE: 18 } })), 'keel.json: jobs.unit.matrix.NODE must be a non-empty list of strings, got 18');
  assert.match(message(job({ matrix: { NODE: [18] } })), /quotes: "18"/);
  assert.match(message(job({ retires: 2, x: 1 })), /did you mean "retries"\?.*also unknown: "x"/);
  assert.match(message(job({ env: { PATH: '' } })), /runner sets PATH itself/);
  assert.match(message(job({ matrix: { A: five, B: five, C: five } })), /makes 125 jobs \(5 × 5 × 5\).*at most 64/);
  assert.match(parseError('{"jobs":'), /^keel\.json: is not valid JSON: /);
});

function parseError(text: string): string {
  try {
    parseKeelJson(text);
  } catch (error) {
    return (error as Error).message;
  }
  return assert.fail('no error');
}

// A validator for the keywords keel.schema.json uses, enough to check the
// schema and the parser agree. An unexpected keyword fails rather than passes.
const KEYWORDS = new Set([
  '$schema', '$id', '$defs', '$ref', 'title', 'description', 'default', 'examples', 'type', 'properties', 'required',
  'additionalProperties', 'propertyNames', 'minProperties', 'maxProperties', 'items', 'minItems', 'maxItems',
  'uniqueItems', 'minLength', 'maxLength', 'pattern', 'minimum', 'maximum', 'oneOf', 'anyOf',
]);

function valid(value: unknown, s: Schema): boolean {
  for (const key of Object.keys(s)) assert.ok(KEYWORDS.has(key), `schema keyword ${key} not understood by the test`);
  if (s.$ref !== undefined && !valid(value, String(s.$ref).slice(2).split('/').reduce((at: Schema, key) => at[key], schema))) return false;
  if (s.oneOf !== undefined && s.oneOf.filter((option: Schema) => valid(value, option)).length !== 1) return false;
  if (s.anyOf !== undefined && !s.anyOf.some((option: Schema) => valid(value, option))) return false;
  const type = Array.isArray(value) ? 'array' : value === null ? 'null' : typeof value;
  if (s.type === 'integer' ? !Number.isInteger(value) : s.type !== undefined && s.type !== type) return false;
  if (typeof value === 'string') {
    const length = [...value].length;
    if (length < (s.minLength ?? 0) || length > (s.maxLength ?? Infinity)) return false;
    if (s.pattern !== undefined && !new RegExp(s.pattern, 'u').test(value)) return false;
  }
  if (typeof value === 'number' && (value < (s.minimum ?? -Infinity) || value > (s.maximum ?? Infinity))) return false;
  if (Array.isArray(value)) {
    if (value.length < (s.minItems ?? 0) || value.length > (s.maxItems ?? Infinity)) return false;
    if (s.uniqueItems && new Set(value.map((v) => JSON.stringify(v))).size !== value.length) return false;
    if (s.items !== undefined && !value.every((item) => valid(item, s.items))) return false;
  }
  if (type === 'object') {
    const object = value as Record<string, unknown>;
    const keys = Object.keys(object);
    if (keys.length < (s.minProperties ?? 0) || keys.length > (s.maxProperties ?? Infinity)) return false;
    if ((s.required ?? []).some((key: string) => !keys.includes(key))) return false;
    if (s.propertyNames !== undefined && !keys.every((key) => valid(key, s.propertyNames))) return false;
    for (const key of keys) {
      const rule = s.properties?.[key] ?? s.additionalProperties;
      if (rule === false || (rule !== undefined && rule !== true && !valid(object[key], rule))) return false;
    }
  }
  return true;
}

test('keel.schema.json is JSON Schema 2020-12 and names exactly the fields the parser accepts', () => {
  assert.equal(schema.$schema, 'https://json-schema.org/draft/2020-12/schema');
  const known = (doc: unknown) => /known fields: ([^;]*)/.exec(parseError(JSON.stringify(doc)))?.[1]?.split(', ').sort();
  assert.deepEqual(Object.keys(schema.properties).sort(), known({ jobs: { a: {} }, zzz: 1 }));
  assert.deepEqual(Object.keys(schema.$defs.job.properties).sort(), known(job({ zzz: 1 })));
  // Every example in the schema is a value the parser takes.
  for (const [field, rule] of Object.entries<Schema>(schema.$defs.job.properties)) {
    assert.ok(rule.description, `${field} has a description`);
    for (const example of rule.examples) assert.doesNotThrow(() => parse(job({ [field]: example })), field);
  }
});

test('the schema accepts the valid files and rejects every bad one it can express', () => {
  assert.ok(valid(EXAMPLE, schema));
  assert.ok(valid({ $schema: './keel.schema.json', jobs: { a: {} } }, schema));
  assert.ok(valid(job({ run: ['x'], env: JSON.parse('{"__proto__": "x"}'), timeout: 1.5, retryDelay: 0 }), schema));
  // Generators, conditions, secrets, include and exclude.
  const rich = {
    generate: { run: './gen', labels: ['linux'], timeout: 60 },
    jobs: { unit: { when: { branches: ['main'], subjects: ['push'], paths: ['src/**'] }, secrets: ['TOKEN'], matrix: { N: ['1', '2'], exclude: [{ N: '1' }], include: [{ N: '3' }] } } },
  };
  assert.doesNotThrow(() => parse(rich));
  assert.ok(valid(rich, schema));
  assert.ok(valid({ generate: { run: 'x' } }, schema));
  for (const bad of [{ generate: {} }, { generate: { run: 'x', env: {} } }, job({ when: { paths: ['/etc'] } }), job({ when: {} }), job({ when: { subjects: ['commit'] } }), job({ secrets: ['KEEL_X'] })]) {
    assert.throws(() => parse(bad), KeelJsonError);
    assert.equal(valid(bad, schema), false, JSON.stringify(bad));
  }
  for (const [what, doc, , expressible = true] of INVALID) {
    if (!expressible) continue;
    const value = typeof doc === 'string' ? JSON.parse(doc) : JSON.parse(JSON.stringify(doc));
    assert.equal(valid(value, schema), false, `schema accepts ${what}`);
  }
});
