// Artifacts end to end: the files a job's keel.json `artifacts` name come
// back from the runner and are kept beside the results, listed in the report
// and JSON; symbolic links are not followed, names Keel does not send are
// left, a path from the wire that would climb out is refused, the build's
// limit is kept with a note, they survive a dispatcher outage in the
// runner's spool, and --keep-artifacts deletes old ones.
import assert from 'node:assert/strict';
import { existsSync, lstatSync, readFileSync, readdirSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { world } from '../helpers/e2e.js';
import { connectObserver, connectRunner } from '../helpers/e2e-wire.js';
import { get } from '../helpers/http.js';

const keelJson = (jobs: Record<string, unknown>) => `${JSON.stringify({ jobs }, null, 2)}\n`;

/** A job script that makes files, links out of the worktree and a name with a newline. */
const MAKER = [
  '#!/bin/sh',
  'mkdir -p dist/sub coverage',
  'echo "console.log(1)" > dist/app.js',
  'printf "nested" > dist/sub/deep.txt',
  ': > dist/empty',
  'ln -s /etc/passwd dist/passwd-link',
  'ln -s /etc dist/etc-link',
  "touch 'dist/two",
  "lines'",
  'echo "TN:" > coverage/lcov.info',
  'echo "not wanted" > other.txt',
  '',
].join('\n');

test('a job\'s artifacts are kept as <sha>.<job>.artifacts/, listed in the report and JSON; links and bad names are left with a note', async (t) => {
  const w = world(t);
  const sha = w.push({ 'keel.json': keelJson({ build: { run: './make.sh', artifacts: ['dist/**', 'coverage/lcov.info', 'missing/**'] } }), 'make.sh': MAKER }, 'artifacts');
  w.cloneFor();
  const d = await w.dispatcher();
  await w.runner('r1', d);
  w.observer(d);
  const record = await w.result(sha);
  assert.equal(record.status, 'passed');
  const kept = record.jobs[0].artifacts;
  assert.equal(kept.dir, `${sha}.build.artifacts`);
  assert.deepEqual(kept.files, [
    { path: 'coverage/lcov.info', bytes: 4 }, { path: 'dist/app.js', bytes: 15 }, { path: 'dist/empty', bytes: 0 }, { path: 'dist/sub/deep.txt', bytes: 6 },
  ]);
  assert.ok(kept.notes.includes('dist/etc-link: a symbolic link, not followed'), kept.notes.join('\n'));
  assert.ok(kept.notes.includes('dist/passwd-link: a symbolic link, not followed'));
  assert.ok(kept.notes.some((note: string) => /^"dist\/two\\nlines": a name Keel does not send/.test(note)), kept.notes.join('\n'));

  const dir = join(w.results, kept.dir);
  assert.equal(readFileSync(join(dir, 'dist', 'app.js'), 'utf8'), 'console.log(1)\n');
  assert.equal(readFileSync(join(dir, 'dist', 'sub', 'deep.txt'), 'utf8'), 'nested');
  const everything = (folder: string): string[] => readdirSync(folder, { withFileTypes: true }).flatMap((entry) => {
    const path = join(folder, entry.name);
    assert.ok(!lstatSync(path).isSymbolicLink(), `${path} is no link`);
    return entry.isDirectory() ? everything(path).map((p) => `${entry.name}/${p}`) : [entry.name];
  });
  assert.deepEqual(everything(dir).sort(), ['coverage/lcov.info', 'dist/app.js', 'dist/empty', 'dist/sub/deep.txt']);
  assert.equal(readdirSync(w.results).some((name) => name.endsWith('.partial')), false, 'no half-received folder left');

  // Each kept file downloads from the status page; nothing else does.
  const page = Number((await d.waitForLine(/status page at http:\/\/[^:]+:(\d+)\//))[1]);
  const file = await get(page, `/builds/${sha}/artifacts/build/dist/sub/deep.txt`);
  assert.equal(file.status, 200);
  assert.equal(file.body, 'nested');
  assert.equal(file.headers['content-type'], 'application/octet-stream');
  assert.equal(file.headers['content-disposition'], 'attachment; filename="deep.txt"');
  assert.match(String(file.headers['content-security-policy']), /^sandbox/);
  assert.match((await get(page, `/builds/${sha}`)).body, new RegExp(`href="/builds/${sha}/artifacts/build/dist/app\\.js"`), 'the build page links it');
  for (const path of ['dist/passwd-link', 'other.txt', 'dist/../keel.json', 'dist/%2e%2e/%2e%2e/keel.json', 'dist', `..%2F..%2F${sha}.json`, 'dist/etc-link/passwd']) {
    assert.equal((await get(page, `/builds/${sha}/artifacts/build/${path}`)).status, 404, path);
  }
  assert.equal((await get(page, `/builds/${sha}/artifacts/other-job/dist/app.js`)).status, 404, 'another job has none');

  const report = w.report(sha);
  assert.match(report, new RegExp(`^ {2}artifacts: ${sha}\\.build\\.artifacts/ \\(4 files, 25 B\\)$`, 'm'));
  assert.match(report, /^ {4}dist\/app\.js \(15 B\)$/m);
  assert.match(report, /^ {2}artifacts note: dist\/etc-link: a symbolic link, not followed$/m);
});

test('artifacts over --max-artifact-mib are left with a note; the rest are kept', async (t) => {
  const w = world(t);
  const script = ['#!/bin/sh', 'mkdir -p out', 'head -c 3000000 /dev/zero > out/big.bin', 'echo small > out/small.txt', ''].join('\n');
  const sha = w.push({ 'keel.json': keelJson({ build: { run: './make.sh', artifacts: ['out'] } }), 'make.sh': script }, 'big');
  w.cloneFor();
  const d = await w.dispatcher({ extra: ['--max-artifact-mib', '1'] });
  await w.runner('r1', d);
  w.observer(d);
  const { artifacts } = (await w.result(sha)).jobs[0];
  assert.deepEqual(artifacts.files, [{ path: 'out/small.txt', bytes: 6 }]);
  assert.deepEqual(artifacts.notes, ['over the build\'s artifact limit of 1 MiB (--max-artifact-mib on the dispatcher), not sent: out/big.bin (2.9 MiB)']);
  assert.match(w.report(sha), /artifacts note: over the build's artifact limit of 1 MiB/);
});

test('artifacts wait in the runner\'s spool through a dispatcher outage, and old ones go after --keep-artifacts days', async (t) => {
  const w = world(t);
  const script = ['#!/bin/sh', ...w.scripts.recordRun('slow'), `echo $$ > '${w.control}/started-slow'`,
    `while [ ! -e '${w.control}/release' ]; do sleep 0.05; done`, 'mkdir -p dist', 'echo built > dist/out.txt', ''].join('\n');
  const sha = w.push({ 'keel.json': keelJson({ build: { run: './make.sh', artifacts: ['dist/**'] } }), 'make.sh': script }, 'outage');
  w.cloneFor();
  const first = await w.dispatcher({ extra: ['--keep-artifacts', '2'] });
  const runner = await w.runner('r1', first);
  w.observer(first);
  await w.scripts.started('slow');
  await w.stop(first, 'SIGKILL');
  w.scripts.release();
  const spooled = await w.spooled(runner);
  assert.equal(spooled.lease.length > 0, true);
  const spoolDir = join(runner.workdir, 'results', `${spooled.lease}.artifacts`);
  assert.equal(readFileSync(join(spoolDir, 'dist', 'out.txt'), 'utf8'), 'built\n', 'copied to the spool before the worktree went');

  const second = await w.dispatcher({ port: first.port, extra: ['--keep-artifacts', '2'] });
  const record = await w.result(sha);
  assert.deepEqual(record.jobs[0].artifacts.files, [{ path: 'dist/out.txt', bytes: 6 }]);
  assert.equal(readFileSync(join(w.results, `${sha}.build.artifacts`, 'dist', 'out.txt'), 'utf8'), 'built\n');
  await w.unspooled(runner, spooled.lease);
  await w.until(() => !existsSync(spoolDir), 'the spool to forget them with the result');

  // Three days old: the next dispatcher's sweep at start deletes them; the report stays.
  const old = (Date.now() - 3 * 86_400_000) / 1000;
  utimesSync(join(w.results, `${sha}.build.artifacts`), old, old);
  await w.stop(second);
  const third = await w.dispatcher({ port: first.port, extra: ['--keep-artifacts', '2'] });
  await third.waitForLine(/deleted 1 artifact folder\(s\) older than 2 days \(--keep-artifacts\)/);
  assert.equal(existsSync(join(w.results, `${sha}.build.artifacts`)), false);
  assert.ok(existsSync(join(w.results, sha)), 'the report is kept');
});

test('an artifact path that would climb out of the folder, or a lease not held, is refused and writes nothing', async (t) => {
  const w = world(t);
  const sha = w.push({ 'keel.json': keelJson({ build: { run: ['true'], artifacts: ['dist/**'] } }) }, 'one job');
  const d = await w.inProcess();
  const observer = await connectObserver(t, d.port, { repo: w.central });
  await observer.report(sha);
  const runner = await connectRunner(t, d.port, { name: 'forger' });
  const job = await runner.next('job');
  assert.deepEqual(job.artifacts, ['dist/**']);
  assert.equal(job.artifactBytes, 256 * 1024 * 1024);
  const data = Buffer.from('escaped').toString('base64');
  for (const path of ['../../escape', '/etc/escape', 'dist/../../escape', 'a//b', 'dist/./x']) {
    runner.send({ type: 'artifact', lease: job.lease, path, size: 7, offset: 0, data });
    const error = await runner.next('error');
    assert.equal(error.code, 'bad-field', path);
  }
  // Another runner's connection cannot add files to this attempt's artifacts.
  const other = await connectRunner(t, d.port, { name: 'other' });
  other.send({ type: 'artifact', lease: job.lease, path: 'dist/x', size: 7, offset: 0, data });
  assert.equal((await other.next('error')).code, 'not-your-lease');
  assert.deepEqual(readdirSync(w.tmp).filter((name) => name.includes('escape')), []);
  assert.equal(existsSync(join(w.results, '..', 'escape')), false);
});
