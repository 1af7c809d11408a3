import { strict as assert } from 'node:assert';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Result } from '../../src/protocol/messages.js';
import { ResultSpool } from '../../src/runner/result-spool.js';
import { tempDir } from '../helpers/temp.js';

function result(lease: string, status: 'passed' | 'failed' = 'passed'): Result {
  return {
    type: 'result',
    lease,
    outcome: {
      status, exitCode: status === 'passed' ? 0 : 1, signal: null, timedOut: false,
      startedAt: '2024-05-01T12:00:00.000Z', durationMs: 12, command: ['tests/run.sh'], message: '', counts: null,
      infra: false, cancelled: false, failedTests: [], junit: null,
    },
  };
}

function logged(): { lines: string[]; log: (line: string) => void } {
  const lines: string[] = [];
  return { lines, log: (line) => lines.push(line) };
}

test('a result is written as <lease>.json, reloaded by a new spool, and deleted on remove', async (t) => {
  const workdir = tempDir(t);
  const spool = new ResultSpool(workdir, logged().log);
  assert.deepEqual(await spool.load(), []);
  await spool.add(result('lease-1'));
  await spool.add(result('lease_2', 'failed'));
  assert.deepEqual(JSON.parse(readFileSync(join(workdir, 'results', 'lease-1.json'), 'utf8')), result('lease-1'));
  assert.deepEqual(spool.leases().sort(), ['lease-1', 'lease_2']);

  const again = new ResultSpool(workdir, logged().log);
  assert.deepEqual((await again.load()).sort((a, b) => (a.lease < b.lease ? -1 : 1)), [result('lease-1'), result('lease_2', 'failed')]);
  await again.remove('lease-1');
  assert.equal(existsSync(join(workdir, 'results', 'lease-1.json')), false);
  assert.deepEqual(again.values(), [result('lease_2', 'failed')]);
  await again.remove('lease-1'); // a second `recorded` for the same lease
  await again.remove('never-held');
  assert.deepEqual(readdirSync(join(workdir, 'results')), ['lease_2.json']);
});

test('unreadable, invalid and misnamed files are skipped and logged; crash leftovers are cleaned up', async (t) => {
  const workdir = tempDir(t);
  const dir = join(workdir, 'results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'good.json'), JSON.stringify(result('good')));
  writeFileSync(join(dir, 'torn.json'), JSON.stringify(result('torn')).slice(0, 40));
  writeFileSync(join(dir, 'invalid.json'), JSON.stringify({ ...result('invalid'), outcome: { status: 'great' } }));
  writeFileSync(join(dir, 'other.json'), JSON.stringify(result('someone-else')));
  writeFileSync(join(dir, 'output.json'), JSON.stringify({ type: 'output', lease: 'output', stream: 'stdout', data: 'x' }));
  writeFileSync(join(dir, 'bad name!.json'), JSON.stringify(result('x')));
  mkdirSync(join(dir, 'folder.json'));
  writeFileSync(join(dir, '.good.json.123.abcd.tmp'), '{"type":"res');
  const { lines, log } = logged();
  const spool = new ResultSpool(workdir, log);
  assert.deepEqual(await spool.load(), [result('good')]);
  assert.equal(lines.length, 6, lines.join('\n'));
  for (const name of ['torn', 'invalid', 'other', 'output', 'bad name!', 'folder']) {
    assert.ok(lines.some((line) => line.startsWith(`skipping spooled result ${join(dir, name)}.json: `)), `${name}: ${lines.join('\n')}`);
  }
  assert.ok(lines.some((line) => line.includes('holds the result of lease someone-else')));
  assert.equal(existsSync(join(dir, '.good.json.123.abcd.tmp')), false);
  assert.equal(existsSync(join(dir, 'torn.json')), true, 'left for a human to look at');
});

test('a lease that is not a lease id is refused before it becomes a file name', async (t) => {
  const workdir = tempDir(t);
  const spool = new ResultSpool(workdir, logged().log);
  await spool.load();
  for (const lease of ['../escape', '', 'a/b', 'x'.repeat(65), '.hidden', 'a b']) {
    await assert.rejects(spool.add(result(lease)), /not a lease id/, lease);
  }
  assert.equal(spool.size, 0);
  assert.deepEqual(readdirSync(join(workdir, 'results')), []);
  assert.deepEqual(readdirSync(workdir), ['results']);
});

test('whenEmpty resolves once the last result is removed, or false at its deadline', async (t) => {
  const spool = new ResultSpool(tempDir(t), logged().log);
  await spool.load();
  assert.equal(await spool.whenEmpty(10), true);
  await spool.add(result('a'));
  await spool.add(result('b'));
  assert.equal(await spool.whenEmpty(20), false);
  const empty = spool.whenEmpty(10_000);
  await spool.remove('a');
  await spool.remove('b');
  assert.equal(await empty, true);
});
