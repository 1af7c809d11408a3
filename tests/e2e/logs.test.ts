// keel logs and keel status --branch end to end: real dispatcher, runner and
// observer processes on a real repository. `keel logs --follow` follows
// every job of a build to its end over the protocol (so with the status
// page off, with a secret and TLS), prefixing lines with their job; without
// --follow it prints the log as it is; --branch lists a branch's builds
// from the dispatcher's index.
import { strict as assert } from 'node:assert';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { formatToken } from '../../src/common/auth.js';
import { makePki } from '../helpers/certs.js';
import { world } from '../helpers/e2e.js';
import { MASTER, MASTER_KEY } from '../helpers/e2e-secret.js';

const JOBS = `${JSON.stringify({ jobs: { unit: { run: ['sh', 'job.sh', 'unit'] }, lint: { run: ['sh', 'job.sh', 'lint'] } } })}\n`;

test('keel logs --follow: every job to its end, lines prefixed by job, exit status the build\'s; page off, secret and TLS', async (t) => {
  const w = world(t);
  const pki = makePki(t);
  const master = join(w.tmp, 'master.token');
  writeFileSync(master, MASTER, { mode: 0o600 });
  const client = join(w.tmp, 'client.token');
  writeFileSync(client, formatToken(MASTER_KEY, 'client'), { mode: 0o600 });
  const script = [
    '#!/bin/sh', ...w.scripts.recordRun('job'), 'echo "$1 starts"', `echo $$ > "${w.control}/started-$1"`,
    `while [ ! -e '${w.control}/release' ]; do sleep 0.05; done`, 'printf "$1 \\033[32mdone\\033[0m\\n"', '[ "$1" != lint ]', '',
  ].join('\n');
  const sha = w.push({ 'keel.json': JOBS, 'job.sh': script }, 'two jobs');
  w.cloneFor();
  const secure = ['--token-file', master, '--tls-ca', pki.ca];
  const d = await w.dispatcher({ extra: ['--http-port', 'off', '--tls-cert', pki.server, '--tls-key', pki.serverKey], secret: MASTER, tls: { ca: readFileSync(pki.ca) } });
  await w.runner('r1', d, { slots: 2, extra: secure });
  w.observer(d, { extra: secure });
  await w.scripts.started('unit');
  await w.scripts.started('lint');

  const following = w.spawn('keel logs', 'cli/main.js', ['logs', sha, '--follow', '--dispatcher', d.address, '--token-file', client, '--tls-ca', pki.ca]);
  // It has both jobs' first lines while they still run: it follows them live.
  await following.waitForLine(/^\[unit\] unit starts$/);
  await following.waitForLine(/^\[lint\] lint starts$/);
  w.scripts.release();
  const { code } = await w.exit(following);
  const stdout = following.stdout();
  const stderr = following.stderr();
  assert.equal(code, 1, `the build failed (lint), so keel logs exits 1\n${stderr}`);
  const lines = stdout.split('\n').filter(Boolean);
  assert.ok(lines.every((line) => /^\[(unit|lint)\] /.test(line)), stdout);
  await w.result(sha);
  for (const job of ['unit', 'lint']) {
    const file = readFileSync(join(w.results, `${sha}.${job}.log`), 'utf8');
    const mine = lines.filter((line) => line.startsWith(`[${job}] `)).map((line) => line.slice(job.length + 3));
    assert.deepEqual(mine, file.split('\n').filter(Boolean), `${job}'s lines in order, as in its log file`);
    assert.ok(mine.includes(`${job} \u001b[32mdone\u001b[0m`), 'colours reach the terminal as they are');
  }
  assert.equal(stderr, `keel: ${sha} failed: lint: tests exited with code 1\n`, 'how it ended, and no progress line when stderr is not a terminal');
});

test('keel logs prints a log as it is, one job with --job; keel status --branch lists the branch newest first', async (t) => {
  const w = world(t);
  const first = w.push({ 'tests/run.sh': '#!/bin/sh\necho first run\n' }, 'first');
  w.cloneFor();
  const d = await w.dispatcher();
  await w.runner('r1', d);
  const observer = w.observer(d);
  await w.result(first);
  await observer.delivered(first);
  const second = w.push({ 'tests/run.sh': '#!/bin/sh\necho second run\nexit 3\n' }, 'second');
  await w.result(second);

  const log = await d.keel('logs', first);
  assert.equal(log.code, 0, log.stderr);
  assert.equal(log.stdout, readFileSync(join(w.results, `${first}.log`), 'utf8'), 'the whole log, unprefixed: one job');
  assert.match(log.stdout, /first run/);
  const failed = await d.keel('logs', second, '--job', 'tests');
  assert.equal(failed.code, 1);
  assert.match(failed.stdout, /second run/);
  assert.equal((await d.keel('logs', second, '--job', 'nope')).code, 2, 'an unknown job is a question that cannot be answered');
  const unknown = await d.keel('logs', 'f'.repeat(40));
  assert.equal(unknown.code, 1);
  assert.match(unknown.stdout, /no build of f{40}/);
  assert.equal((await d.keel('logs', 'abc')).code, 2);

  await w.until(async () => JSON.parse((await d.keel('status', '--branch', 'main', '--json')).stdout).builds.length === 2, 'both builds in the index');
  const table = await d.keel('status', '--branch', 'main');
  assert.equal(table.code, 0, table.stderr);
  const rows = table.stdout.split('\n').slice(1).filter((line) => /^[0-9a-f]{12} /.test(line));
  assert.deepEqual(rows.map((row) => row.slice(0, 12)), [second.slice(0, 12), first.slice(0, 12)], table.stdout);
  assert.match(rows[0]!, /failed/);
  const one = JSON.parse((await d.keel('status', '--branch', 'main', '--limit', '1', '--json')).stdout);
  assert.deepEqual(one.builds.map((b: { commit: string }) => b.commit), [second]);
  assert.notEqual(one.next, null, 'a cursor to the older builds');
  assert.equal((await d.keel('status', first, '--branch', 'main')).code, 2, 'a commit or a branch, not both');
});
