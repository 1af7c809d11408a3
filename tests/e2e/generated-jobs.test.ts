// Jobs the repository generates, matrix include/exclude and `when`, end to
// end: a generator run on a real runner that scans the repository's files
// and prints a matrix; generators that fail, print garbage or print 10,000
// jobs; `keel retry` running the generated jobs again without the
// generator; a job skipped by each condition. Real processes, real git.
import { strict as assert } from 'node:assert';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { world } from '../helpers/e2e.js';
import { git } from '../helpers/git-repo.js';

type Job = { name: string; status: string; message: string; log: string; spec: { generator?: boolean; generated?: boolean; env: Record<string, string> } };

const keelJson = (doc: object) => `${JSON.stringify(doc, null, 2)}\n`;

test('a generator scans the repository and prints a matrix; its jobs run, are on record, and keel retry runs them again without it', async (t) => {
  const w = world(t);
  const generator = [
    '#!/bin/sh',
    ...w.scripts.recordRun('generate'),
    `echo "$KEEL_BUILD_ID|$KEEL_COMMIT|$KEEL_REF|$KEEL_SUBJECT|$KEEL_BASE" >> '${w.control}/generator-env'`,
    'echo "scanning suites/" >&2',
    'printf \'{"suite": {"run": "./suite.sh", "matrix": {"SUITE": [\'',
    'sep=""; for f in suites/*.txt; do printf \'%s"%s"\' "$sep" "$(basename "$f" .txt)"; sep=","; done',
    'printf \']}}}\\n\'',
    '',
  ].join('\n');
  const suite = ['#!/bin/sh', ...w.scripts.recordRun('suite'), 'echo "suite $SUITE: $(cat "suites/$SUITE.txt")"', ''].join('\n');
  const sha = w.push({
    'keel.json': keelJson({ generate: { run: './gen.sh', timeout: 60 }, jobs: { lint: { run: 'echo lint' } } }),
    'gen.sh': generator, 'suite.sh': suite, 'suites/alpha.txt': 'a\n', 'suites/beta.txt': 'b\n', 'suites/gamma.txt': 'c\n',
  }, 'a generated matrix');
  w.cloneFor();
  const dispatcher = await w.dispatcher();
  await w.runner('r1', dispatcher, { slots: 2 });
  w.observer(dispatcher);

  const record = await w.result(sha);
  assert.equal(record.status, 'passed', w.logs());
  const jobs: Job[] = record.jobs;
  assert.deepEqual(jobs.map((j) => [j.name, j.status]), [
    ['generate', 'passed'], ['lint', 'passed'], ['suite.SUITE-alpha', 'passed'], ['suite.SUITE-beta', 'passed'], ['suite.SUITE-gamma', 'passed'],
  ]);
  assert.equal(jobs[0]!.spec.generator, true);
  assert.ok(jobs.slice(2).every((j) => j.spec.generated === true), 'the generated jobs are marked so');
  assert.equal(await w.scripts.file('generator-env'), `${sha}|${sha}|refs/heads/main|push|`, 'KEEL_BUILD_ID, KEEL_COMMIT, KEEL_REF, KEEL_SUBJECT and KEEL_BASE');
  assert.match(readFileSync(join(w.results, `${sha}.suite.SUITE-beta.log`), 'utf8'), /suite beta: b/);
  assert.match(readFileSync(join(w.results, `${sha}.generate.log`), 'utf8'), /scanning suites/);
  const report = w.report(sha);
  assert.match(report, /job generate: PASSED/);
  assert.match(report, /job suite \(SUITE=gamma\): PASSED/);
  assert.match(report, /printed: +3 jobs: suite\.SUITE-alpha, suite\.SUITE-beta, suite\.SUITE-gamma/);
  assert.match(report, /job suite \(SUITE=alpha\): PASSED\n(?:.*\n)*? +from: +the generator/);
  assert.deepEqual(w.scripts.runs('generate'), [sha]);
  assert.equal(w.scripts.runs('suite').length, 3);

  const retry = await dispatcher.keel('retry', sha);
  assert.equal(retry.code, 0, retry.stdout + retry.stderr);
  await w.until(() => w.readResult(sha).run === 2 && w.scripts.runs('suite').length === 6 && /status: +PASSED/.test(w.report(sha)), 'the retried build written');
  const again = w.readResult(sha);
  assert.deepEqual(again.jobs.map((j: Job) => j.name), jobs.map((j) => j.name), 'the same jobs');
  assert.deepEqual(w.scripts.runs('generate'), [sha], 'the generator did not run again');
});

test('a generator that fails, one that prints garbage and one that prints 10,000 jobs end their builds as error, with the message and output', async (t) => {
  const w = world(t);
  const base = w.push({ 'tests/ok.sh': w.scripts.passing() }, 'base');
  w.cloneFor();
  const cases: Array<[string, string, RegExp, RegExp]> = [
    ['fails', 'echo "cannot list the suites" >&2; exit 3', /^generate: the generator failed: tests exited with code 3$/, /cannot list the suites/],
    ['garbage', 'echo "this is not json at all"', /^generate: generator output: is not valid JSON: .*"this is not json at all"/, /this is not json at all/],
    ['many', 'i=0; printf "{"; while [ $i -lt 10000 ]; do printf \'"j%d": {}, \' $i; i=$((i+1)); done; printf \'"last": {}}\\n\'',
      /^generate: generator output is \d+ bytes; at most 65536 \(64 KiB\) are allowed$/, /"j9999": \{\}/],
  ];
  const shas = cases.map(([branch, script]) => {
    git(w.work, 'checkout', '-q', '-b', branch, base);
    return w.push({ 'keel.json': keelJson({ generate: { run: script } }) }, branch, { branch });
  });
  const dispatcher = await w.dispatcher();
  await w.runner('r1', dispatcher);
  w.observer(dispatcher);
  for (const [i, [branch, , message, output]] of cases.entries()) {
    const record = await w.result(shas[i]!);
    assert.equal(record.status, 'error', `${branch}: ${w.logs()}`);
    assert.match(record.message, message, branch);
    assert.deepEqual(record.jobs.map((j: Job) => j.name), ['generate'], `${branch}: no job was added`);
    assert.match(w.report(shas[i]!), output, `${branch}: the report shows the generator's output`);
  }
});

test('matrix include and exclude, and when: each condition skips its job with the reason; the build passes on the rest', async (t) => {
  const w = world(t);
  const first = w.push({ 'README.md': 'readme\n' }, 'first');
  const sha = w.push({
    'keel.json': keelJson({
      jobs: {
        unit: { run: 'echo "NODE=$NODE OS=$OS"', matrix: { NODE: ['18', '20'], OS: ['linux', 'bsd'], exclude: [{ NODE: '18', OS: 'bsd' }], include: [{ NODE: '22', OS: 'linux' }] } },
        release: { run: 'echo release', when: { branches: ['release/*'] } },
        landing: { run: 'echo landing', when: { subjects: ['land'] } },
        web: { run: 'echo web', when: { paths: ['web/**'] } },
        docs: { run: 'echo docs', when: { paths: ['*.md'], branches: ['main'], subjects: ['push'] } },
      },
    }),
    'docs/guide.md': 'guide\n',
  }, 'conditions');
  assert.notEqual(first, sha);
  w.cloneFor();
  const dispatcher = await w.dispatcher();
  await w.runner('r1', dispatcher, { slots: 4 });
  w.observer(dispatcher);
  const record = await w.result(sha);
  assert.equal(record.status, 'passed', w.logs());
  const byName = new Map((record.jobs as Job[]).map((j) => [j.name, j]));
  assert.deepEqual([...byName.keys()].filter((n) => n.startsWith('unit')), ['unit.NODE-18.OS-linux', 'unit.NODE-20.OS-linux', 'unit.NODE-20.OS-bsd', 'unit.NODE-22.OS-linux']);
  assert.equal(byName.get('release')!.status, 'skipped');
  assert.equal(byName.get('release')!.message, 'when.branches: branch main is not one of release/*');
  assert.equal(byName.get('landing')!.message, 'when.subjects: a push build is not one of land');
  assert.equal(byName.get('web')!.message, 'when.paths: none of the 2 changed files matches web/**');
  assert.equal(byName.get('docs')!.status, 'passed', 'all three of its conditions hold');
  assert.match(w.report(sha), /job release: SKIPPED[\s\S]*reason: +when\.branches/);
});

test('keel logs --follow follows the jobs a generator prints as they join the build', async (t) => {
  const w = world(t);
  const release = join(w.control, 'release');
  const generator = [
    '#!/bin/sh',
    `touch '${w.control}/generating'`,
    `while [ ! -e '${release}' ]; do sleep 0.05; done`,
    'echo \'{"one": {"run": "echo from one"}, "two": {"run": "echo from two"}}\'',
    '',
  ].join('\n');
  const sha = w.push({ 'keel.json': keelJson({ generate: { run: './gen.sh' } }), 'gen.sh': generator }, 'a generator that waits');
  w.cloneFor();
  const dispatcher = await w.dispatcher();
  await w.runner('r1', dispatcher, { slots: 2 });
  w.observer(dispatcher);
  await w.until(() => existsSync(join(w.control, 'generating')), 'the generator to start');
  // Asked while the build has one job, the generator.
  const following = dispatcher.keel('logs', sha, '--follow');
  await new Promise((resolve) => setTimeout(resolve, 500));
  writeFileSync(release, '');
  const followed = await following;
  assert.equal(followed.code, 0, followed.stdout + followed.stderr + w.logs());
  assert.match(followed.stdout, /^\[one\] from one$/m);
  assert.match(followed.stdout, /^\[two\] from two$/m);
});
