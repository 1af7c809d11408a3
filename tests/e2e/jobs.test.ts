// Jobs end to end: keel.json matrices, retries and flakiness, runner labels
// and slots, several repositories on one dispatcher, keel cancel and keel
// retry, a bad keel.json, superseding, and JUnit — real dispatcher, runner
// and observer processes on real repositories. Waits are on the dispatcher's
// `status` or on files; the tests' own scripts block on a release file where
// the test needs to decide when a running job ends.
import { strict as assert } from 'node:assert';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { gone, world } from '../helpers/e2e.js';
import { makeCentralAndClone } from '../helpers/git-repo.js';

const BEATS = ['--heartbeat', '0.5', '--deadline', '2'];

type Attempt = { attempt: number; status: string; runner: string; startedAt: string; endedAt: string | null };
type Job = {
  name: string; status: string; flaky: boolean; runner: string | null; log: string; junit: string | null;
  failedTests: string[]; counts: unknown; message: string; startedAt: string | null; endedAt: string | null;
  spec: { title: string; env: Record<string, string>; labels: string[] }; attempts: Attempt[];
};

function keelJson(jobs: Record<string, unknown>): string {
  return `${JSON.stringify({ jobs }, null, 2)}\n`;
}

function overlaps(a: { startedAt: string | null; endedAt: string | null }, b: { startedAt: string | null; endedAt: string | null }): boolean {
  return Date.parse(a.startedAt!) < Date.parse(b.endedAt!) && Date.parse(b.startedAt!) < Date.parse(a.endedAt!);
}

test('a 2x2 matrix: four jobs with their own ids, titles, env and logs, two at a time on a 2-slot runner; one fails, so the build fails', async (t) => {
  const w = world(t);
  const script = [
    '#!/bin/sh',
    'echo "A=$A B=$B job=$KEEL_JOB"',
    ...w.scripts.recordRun('matrix'),
    `echo $$ > "${w.control}/started-$A$B"`,
    `while [ ! -e '${w.control}/release' ]; do sleep 0.05; done`,
    '[ "$A$B" != "2y" ]',
    '',
  ].join('\n');
  const sha = w.push({
    'keel.json': keelJson({ m: { run: './job.sh', matrix: { A: ['1', '2'], B: ['x', 'y'] } } }),
    'job.sh': script,
  }, 'matrix');
  w.cloneFor();
  const dispatcher = await w.dispatcher({ extra: BEATS });
  await w.runner('r1', dispatcher, { slots: 2 });
  w.observer(dispatcher);
  await dispatcher.waitForBuild(sha, (b) => b.ref === 'refs/heads/main' && b.jobs.length === 4, `${sha} queued with 4 jobs`);

  // Two started and blocked: both slots are in use at once.
  await w.until(() => w.scripts.startedCount() >= 2, 'two jobs running');
  const overview = await dispatcher.keel('status', '--json');
  assert.equal(overview.code, 0, overview.stderr);
  const status = JSON.parse(overview.stdout);
  const r1 = status.runners.find((r: { name: string }) => r.name === 'r1');
  assert.deepEqual(r1.running, [sha, sha], `two jobs of the build run on r1 at once\n${overview.stdout}`);
  assert.equal(status.queued, 2, 'the other two wait');
  assert.equal(w.scripts.startedCount(), 2, 'never more than the slots');
  w.scripts.release();

  const record = await w.result(sha);
  assert.equal(record.status, 'failed', w.logs());
  const jobs: Job[] = record.jobs;
  const expected = [['1', 'x'], ['1', 'y'], ['2', 'x'], ['2', 'y']];
  assert.deepEqual(jobs.map((j) => j.name), expected.map(([a, b]) => `m.A-${a}.B-${b}`));
  assert.deepEqual(jobs.map((j) => j.spec.title), expected.map(([a, b]) => `m (A=${a}, B=${b})`));
  assert.deepEqual(jobs.map((j) => j.spec.env), expected.map(([a, b]) => ({ A: a, B: b })));
  assert.deepEqual(jobs.map((j) => j.status), ['passed', 'passed', 'passed', 'failed']);
  assert.ok(jobs.every((j) => j.runner === 'r1' && j.attempts.length === 1), JSON.stringify(jobs));
  const pairs = jobs.flatMap((a, i) => jobs.slice(i + 1).filter((b) => overlaps(a, b)));
  assert.ok(pairs.length >= 1, `some two jobs' run times overlap: ${JSON.stringify(jobs.map((j) => [j.startedAt, j.endedAt]))}`);

  const report = w.report(sha);
  assert.match(report, /status: +FAILED/);
  for (const [a, b] of expected) {
    const id = `m.A-${a}.B-${b}`;
    assert.ok(report.includes(`m (A=${a}, B=${b})`), `the report names ${id}:\n${report}`);
    const job = jobs.find((j) => j.name === id)!;
    assert.equal(job.log, `${sha}.${id}.log`);
    assert.match(readFileSync(join(w.results, job.log), 'utf8'), new RegExp(`A=${a} B=${b} job=${id.replace(/\./g, '\\.')}`));
  }
  assert.match(report, /job m \(A=2, B=y\): FAILED/);
});

test('a job with retries that fails once and then passes: passed, flaky, both attempts on record and in the log', async (t) => {
  const w = world(t);
  const marker = join(w.control, 'failed-once');
  const script = [
    '#!/bin/sh',
    `if [ -e '${marker}' ]; then echo 'second attempt passes'; exit 0; fi`,
    `touch '${marker}'`,
    "echo 'first attempt fails'",
    'exit 1',
    '',
  ].join('\n');
  const sha = w.push({ 'keel.json': keelJson({ flaky: { run: './flaky.sh', retries: 2, retryDelay: 0.1 } }), 'flaky.sh': script }, 'flaky');
  w.cloneFor();
  const dispatcher = await w.dispatcher({ extra: BEATS });
  await w.runner('r1', dispatcher);
  w.observer(dispatcher);

  const record = await w.result(sha);
  assert.equal(record.status, 'passed', w.logs());
  assert.equal(record.flaky, true);
  const [job] = record.jobs as Job[];
  assert.equal(job!.status, 'passed');
  assert.equal(job!.flaky, true);
  assert.deepEqual(job!.attempts.map((a) => a.status), ['failed', 'passed']);
  assert.match(w.report(sha), /FLAKY/);
  const log = readFileSync(join(w.results, job!.log), 'utf8');
  assert.equal(job!.log, `${sha}.log`, 'one job: the plain log name');
  assert.match(log, /first attempt fails[\s\S]*second attempt passes/);
  const status = await dispatcher.keel('status', sha);
  assert.equal(status.code, 0, status.stdout + status.stderr);
  assert.match(status.stdout, /flaky/, 'keel status says so too');
});

test('labels: a gpu job waits, saying so in keel status, until a gpu runner connects, and runs there', async (t) => {
  const w = world(t);
  const sha = w.push({ 'keel.json': keelJson({ cuda: { run: 'echo "on $KEEL_JOB"', labels: ['gpu'] } }) }, 'gpu job');
  w.cloneFor();
  const dispatcher = await w.dispatcher({ extra: BEATS });
  await w.runner('cpu', dispatcher, { labels: 'linux,x86', slots: 2 });
  w.observer(dispatcher);
  await dispatcher.waitForBuild(sha);

  const text = await dispatcher.keel('status');
  assert.equal(text.code, 0, text.stderr);
  const row = text.stdout.split('\n').find((line) => line.startsWith(sha.slice(0, 12)));
  assert.ok(row, `the build is in the overview:\n${text.stdout}`);
  assert.match(row!, /queued/);
  assert.match(row!, /waiting for a runner with labels gpu/);
  const json = await dispatcher.keel('status', '--json');
  assert.equal(json.code, 0, json.stderr);
  const build = JSON.parse(json.stdout).builds.find((b: { commit: string }) => b.commit === sha);
  assert.equal(build.status, 'queued');
  assert.equal(build.note, 'waiting for a runner with labels gpu');
  const one = JSON.parse((await dispatcher.keel('status', sha, '--json')).stdout);
  assert.equal(one.jobs[0].status, 'queued', 'the whole record shows the job waiting');
  assert.equal(existsSync(join(w.results, sha)), false);

  await w.runner('gpu1', dispatcher, { labels: 'gpu' });
  const record = await w.result(sha);
  assert.equal(record.status, 'passed', w.logs());
  assert.equal(record.runner, 'gpu1');
  assert.equal(record.jobs[0].runner, 'gpu1');
  assert.deepEqual(record.jobs[0].spec.labels, ['gpu']);
  assert.match(readFileSync(join(w.results, `${sha}.log`), 'utf8'), /on cuda/);
});

test('two repositories, one with --project lib, share a dispatcher and two runners; both are tested and kept apart', async (t) => {
  const w = world(t);
  const app = w.push({ 'tests/math.test.js': "import { test } from 'node:test';\ntest('adds', () => {});\n" }, 'app');
  w.cloneFor();
  const lib = makeCentralAndClone(t);
  const libSha = w.push({ 'keel.json': keelJson({ build: { run: 'echo lib built' } }) }, 'lib', { work: lib.work });
  w.cloneFor(lib.central, lib.clone);

  const dispatcher = await w.dispatcher({ extra: BEATS });
  await w.runner('r1', dispatcher);
  await w.runner('r2', dispatcher);
  w.observer(dispatcher, { state: 'observer-app' });
  w.observer(dispatcher, { clone: lib.clone, project: 'lib', state: 'observer-lib' });

  const appRecord = await w.result(app);
  const libRecord = await w.result(libSha, { project: 'lib' });
  assert.equal(appRecord.status, 'passed', w.logs());
  assert.equal(appRecord.project, null);
  assert.equal(libRecord.status, 'passed', w.logs());
  assert.equal(libRecord.project, 'lib');
  assert.equal(libRecord.repo, lib.central);
  assert.match(readFileSync(join(w.results, 'lib', `${libSha}.log`), 'utf8'), /lib built/);
  assert.match(w.report(libSha, 'lib'), /project: +lib/);
  assert.equal(existsSync(join(w.results, libSha)), false, 'the lib build is not in the plain folder');
  assert.equal(existsSync(join(w.results, 'lib', app)), false, 'the app build is not in lib/');

  const status = await dispatcher.keel('status', libSha, '--project', 'lib');
  assert.equal(status.code, 0, status.stdout + status.stderr);
  assert.match(status.stdout, new RegExp(`commit: +${libSha}`));
  assert.match(status.stdout, /status: +passed/);
  const json = await dispatcher.keel('status', libSha, '--project', 'lib', '--json');
  assert.equal(json.code, 0, json.stderr);
  assert.equal(JSON.parse(json.stdout).project, 'lib');
  const plain = await dispatcher.keel('status', libSha);
  assert.equal(plain.code, 1, `without --project the lib build is not this one:\n${plain.stdout}`);
});

test('keel cancel stops a running job: the build ends cancelled and the job\'s child process is gone', async (t) => {
  const w = world(t);
  const script = [
    '#!/bin/sh',
    ...w.scripts.recordRun('slow'),
    'sleep 60 &',
    `echo $! > '${w.control}/child'`,
    'echo started',
    'wait',
    '',
  ].join('\n');
  const sha = w.push({ 'keel.json': keelJson({ slow: { run: './slow.sh' } }), 'slow.sh': script }, 'slow');
  w.cloneFor();
  const dispatcher = await w.dispatcher({ extra: BEATS });
  await w.runner('r1', dispatcher);
  w.observer(dispatcher);
  const child = Number(await w.scripts.file('child'));
  const shell = Number((await w.scripts.file('pids')).split('\n')[0]);
  assert.equal(gone(child), false, 'the child runs');

  const cancel = await dispatcher.keel('cancel', sha);
  assert.equal(cancel.code, 0, cancel.stdout + cancel.stderr);
  assert.match(cancel.stdout + cancel.stderr, /cancelled/);
  const record = await w.result(sha);
  assert.equal(record.status, 'cancelled', w.logs());
  assert.equal(record.jobs[0].status, 'cancelled');
  assert.equal(record.jobs[0].attempts.at(-1).status, 'cancelled');
  assert.match(w.report(sha), /CANCELLED/);
  await w.until(() => gone(child), `the child ${child} to be killed`);
  await w.until(() => gone(shell), `the job's shell ${shell} to be killed`);

  const again = await dispatcher.keel('cancel', sha);
  assert.equal(again.code, 1, `nothing left to cancel: ${again.stdout}${again.stderr}`);
});

test('keel retry runs a failed build again: it passes, and the job keeps its failed attempt', async (t) => {
  const w = world(t);
  const marker = join(w.control, 'ran-once');
  const script = [
    '#!/bin/sh',
    `if [ -e '${marker}' ]; then echo 'passes now'; exit 0; fi`,
    `touch '${marker}'`,
    "echo 'fails first'",
    'exit 1',
    '',
  ].join('\n');
  const sha = w.push({ 'keel.json': keelJson({ once: { run: './once.sh' } }), 'once.sh': script }, 'fails once');
  w.cloneFor();
  const dispatcher = await w.dispatcher({ extra: BEATS });
  await w.runner('r1', dispatcher);
  w.observer(dispatcher);
  const first = await w.result(sha);
  assert.equal(first.status, 'failed', w.logs());

  const wrongJob = await dispatcher.keel('retry', sha, '--job', 'nope');
  assert.equal(wrongJob.code, 1, wrongJob.stdout + wrongJob.stderr);
  const retry = await dispatcher.keel('retry', sha, '--job', 'once');
  assert.equal(retry.code, 0, retry.stdout + retry.stderr);
  // The report is written last: once it says PASSED, the new <sha>.json is there too.
  await w.until(() => /status: +PASSED/.test(w.report(sha)), 'the result written again');
  const record = w.readResult(sha);
  assert.equal(record.status, 'passed', w.logs());
  const job: Job = record.jobs[0];
  assert.equal(job.status, 'passed');
  assert.ok(job.attempts.length >= 2, JSON.stringify(job.attempts));
  assert.equal(job.attempts[0]!.status, 'failed');
  assert.equal(job.attempts.at(-1)!.status, 'passed');
  assert.match(w.report(sha), /status: +PASSED/);
  assert.match(readFileSync(join(w.results, `${sha}.log`), 'utf8'), /fails first[\s\S]*passes now/);
});

test('an invalid keel.json ends the build as error, naming the field, without any runner', async (t) => {
  const w = world(t);
  const sha = w.push({ 'keel.json': '{"jobs": {"unit": {"run": "true", "matrix": {"NODE": [18]}}}}\n' }, 'bad keel.json');
  w.cloneFor();
  const dispatcher = await w.dispatcher({ extra: BEATS });
  w.observer(dispatcher);
  const record = await w.result(sha);
  assert.equal(record.status, 'error', w.logs());
  assert.match(record.message, /jobs\.unit\.matrix\.NODE/);
  assert.match(w.report(sha), /jobs\.unit\.matrix\.NODE/);
  assert.match(w.report(sha), /status: +ERROR/);
});

test('--supersede: a newer commit on main skips the queued older one, recorded; the newer passes once a runner comes', async (t) => {
  const w = world(t);
  const jobs = keelJson({ quick: { run: 'echo "testing $KEEL_COMMIT"' } });
  const base = w.push({ 'keel.json': jobs }, 'base');
  w.cloneFor();
  const dispatcher = await w.dispatcher({ extra: BEATS });
  w.observer(dispatcher, { supersede: true });
  await dispatcher.waitForBuild(base);
  const a = w.push({ 'a.txt': 'a\n' }, 'A');
  await dispatcher.waitForBuild(a);
  const b = w.push({ 'b.txt': 'b\n' }, 'B');
  await dispatcher.waitForBuild(b);

  const skipped = await w.result(a);
  assert.equal(skipped.status, 'skipped', w.logs());
  assert.match(skipped.message, new RegExp(`superseded by ${b}`));
  assert.match(w.report(a), new RegExp(`superseded by ${b}`));
  assert.equal((await w.result(base)).status, 'skipped', 'the base commit was superseded by A');
  assert.equal(existsSync(join(w.results, b)), false, 'B waits for a runner');

  await w.runner('r1', dispatcher);
  const record = await w.result(b);
  assert.equal(record.status, 'passed', w.logs());
  assert.match(readFileSync(join(w.results, `${b}.log`), 'utf8'), new RegExp(`testing ${b}`));
  assert.equal(w.readResult(a).status, 'skipped', 'A stays skipped');
});

test('JUnit: the default node --test job and a declared junit file are kept as <sha>.<job>.junit.xml and counted', async (t) => {
  const w = world(t);
  const tests = [
    "import { test } from 'node:test';",
    "import assert from 'node:assert/strict';",
    "test('adds', () => assert.equal(1 + 1, 2));",
    "test('multiplies', () => assert.equal(2 * 3, 7));",
    '',
  ].join('\n');
  const first = w.push({ 'tests/math.test.js': tests }, 'node tests');
  w.cloneFor();
  const dispatcher = await w.dispatcher({ extra: BEATS });
  await w.runner('r1', dispatcher);
  w.observer(dispatcher);

  const record = await w.result(first);
  assert.equal(record.status, 'failed', w.logs());
  const [job] = record.jobs as Job[];
  const junitFiles = readdirSync(w.results).filter((f) => f.startsWith(`${first}.`) && f.endsWith('junit.xml'));
  assert.deepEqual(junitFiles, [`${first}.tests.junit.xml`]);
  assert.equal(job!.junit, junitFiles[0], `jobs[0].junit names the kept file\n${JSON.stringify(job, null, 1)}\n${w.logs()}`);
  assert.match(readFileSync(join(w.results, junitFiles[0]!), 'utf8'), /<testcase[^>]*multiplies/);
  assert.ok(job!.failedTests.some((name) => name.includes('multiplies')), JSON.stringify(job!.failedTests));
  assert.ok(!job!.failedTests.some((name) => name.includes('adds')), JSON.stringify(job!.failedTests));
  assert.deepEqual(job!.counts, { tests: 2, passed: 1, failed: 1, skipped: 0 });
  assert.deepEqual(record.counts, { tests: 2, passed: 1, failed: 1, skipped: 0 });
  assert.match(w.report(first), /failed test: .*multiplies/);

  const xml = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<testsuites><testsuite name="suite" tests="3" failures="1" skipped="1">',
    '<testcase classname="c" name="alpha"/>',
    '<testcase classname="c" name="beta"><failure message="boom">beta broke</failure></testcase>',
    '<testcase classname="c" name="gamma"><skipped/></testcase>',
    '</testsuite></testsuites>',
  ].join('\n');
  const script = `#!/bin/sh\nmkdir -p reports\ncat > reports/j.xml <<'EOF'\n${xml}\nEOF\necho wrote the report\nexit 1\n`;
  const second = w.push({ 'keel.json': keelJson({ xml: { run: './report.sh', junit: 'reports/j.xml' } }), 'report.sh': script }, 'declared junit');
  const declared = await w.result(second);
  assert.equal(declared.status, 'failed', w.logs());
  const [xmlJob] = declared.jobs as Job[];
  assert.equal(xmlJob!.junit, `${second}.xml.junit.xml`, `${JSON.stringify(xmlJob, null, 1)}\n${w.logs()}`);
  assert.match(readFileSync(join(w.results, xmlJob!.junit!), 'utf8'), /name="beta"/);
  assert.deepEqual(xmlJob!.counts, { tests: 3, passed: 1, failed: 1, skipped: 1 });
  assert.deepEqual(xmlJob!.failedTests.filter((name) => name.includes('beta')).length, 1, JSON.stringify(xmlJob!.failedTests));
  assert.ok(!xmlJob!.failedTests.some((name) => /alpha|gamma/.test(name)), JSON.stringify(xmlJob!.failedTests));
});
