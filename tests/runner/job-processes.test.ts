// Finding and killing a job's processes by KEEL_JOB_ID: the environ match on
// its own, a made-up /proc, and real processes outside any group we own.
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { carriesJobId, findJobProcesses, JOB_ID_VARIABLE, killJobProcesses, newJobId } from '../../src/runner/job-processes.js';
import { gone } from '../helpers/processes.js';
import { stopAtEnd, tempDir } from '../helpers/temp.js';
import { killAtEnd } from './job-repo.js';

/** Starts `argv` in a session of its own (so no group kill reaches it) with KEEL_JOB_ID set. */
function startDaemon(argv: string[], jobId: string): number {
  const child = spawn(argv[0]!, argv.slice(1), { detached: true, stdio: 'ignore', env: { PATH: process.env.PATH, [JOB_ID_VARIABLE]: jobId } });
  child.unref();
  return child.pid!;
}

test('carriesJobId matches the whole entry only', () => {
  const environ = (...entries: string[]) => Buffer.from(entries.map((entry) => `${entry}\0`).join(''));
  assert.equal(carriesJobId(environ('PATH=/bin', 'KEEL_JOB_ID=a.1.x'), 'a.1.x'), true);
  assert.equal(carriesJobId(Buffer.from('KEEL_JOB_ID=a.1.x'), 'a.1.x'), true, 'the last entry may lack its NUL');
  assert.equal(carriesJobId(environ('KEEL_JOB_ID=a.1.xy'), 'a.1.x'), false);
  assert.equal(carriesJobId(environ('KEEL_JOB_ID=a.1'), 'a.1.x'), false);
  assert.equal(carriesJobId(environ('XKEEL_JOB_ID=a.1.x'), 'a.1.x'), false);
  assert.equal(carriesJobId(environ('OTHER=KEEL_JOB_ID=a.1.x'), 'a.1.x'), false);
  assert.equal(carriesJobId(Buffer.alloc(0), 'a.1.x'), false, 'a zombie reads as empty');
});

test('newJobId is its lease and attempt, and differs every time', () => {
  const one = newJobId('lease-1', 2);
  assert.match(one, /^lease-1\.2\.[0-9a-f]{12}$/);
  assert.notEqual(newJobId('lease-1', 2), one);
});

test('findJobProcesses skips what it cannot read, and finds nothing where there is no /proc', async (t) => {
  const root = tempDir(t);
  const entry = (pid: string, environ: string | null, comm = 'tool\n') => {
    mkdirSync(join(root, pid));
    if (environ === null) mkdirSync(join(root, pid, 'environ'));
    else writeFileSync(join(root, pid, 'environ'), environ);
    writeFileSync(join(root, pid, 'comm'), comm);
  };
  entry('101', 'KEEL_JOB_ID=j\0');
  entry('102', 'KEEL_JOB_ID=other\0');
  entry('103', null);
  mkdirSync(join(root, '104'));
  entry('self', 'KEEL_JOB_ID=j\0');
  entry(String(process.pid), 'KEEL_JOB_ID=j\0');
  assert.deepEqual(await findJobProcesses('j', root), [{ pid: 101, command: 'tool' }]);
  assert.deepEqual(await findJobProcesses('j', join(root, 'no-proc-here')), []);
});

test('killJobProcesses kills processes outside any group by their KEEL_JOB_ID, SIGKILLing one that ignores SIGTERM', async (t) => {
  const jobId = newJobId('lease-kill', 1);
  killAtEnd(t, () => jobId);
  const polite = startDaemon(['sleep', '1000'], jobId);
  const stubborn = startDaemon(['sh', '-c', "trap '' TERM; while :; do sleep 0.05; done"], jobId);
  const other = startDaemon(['sleep', '1000'], newJobId('lease-kill', 2));
  stopAtEnd(t, () => process.kill(other, 'SIGKILL'));
  const found = await findJobProcesses(jobId);
  assert.ok(found.some(({ pid, command }) => pid === polite && command === 'sleep'), JSON.stringify(found));
  assert.ok(found.some(({ pid }) => pid === stubborn), JSON.stringify(found));

  const killed = await killJobProcesses(jobId, 200);
  assert.ok(killed.some(({ pid }) => pid === polite) && killed.some(({ pid }) => pid === stubborn), JSON.stringify(killed));
  assert.ok(gone(polite), `${polite} is gone`);
  assert.ok(gone(stubborn), `${stubborn} is gone`);
  assert.deepEqual(await findJobProcesses(jobId), []);
  assert.equal(gone(other), false, 'another attempt\'s process is left alone');
});
