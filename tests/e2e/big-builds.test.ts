// keel.json at and past the limits, end to end (issues 11.5 and 11.6): a
// keel.json no runner could take ends its build as error naming the field,
// without costing any runner its connection or another build its jobs; and
// a build of 64 jobs with 60 KB of env each is shown by `keel status`, whole
// or trimmed, never failing for being large.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { world } from '../helpers/e2e.js';

const keelJson = (jobs: object) => `${JSON.stringify({ jobs }, null, 2)}\n`;

test('keel.json a runner could not take ends its own build as error, naming the field; the runner and other builds go on', async (t) => {
  const w = world(t);
  const first = w.push({ 'keel.json': keelJson({ ok: { run: 'echo first' } }) }, 'first');
  w.cloneFor();
  const d = await w.dispatcher();
  const runner = await w.runner('r1', d);
  const observer = w.observer(d);
  await observer.delivered(first);

  const env = Object.fromEntries(Array.from({ length: 64 }, (_, i) => [`E${i}`, 'x']));
  const matrix = Object.fromEntries(Array.from({ length: 8 }, (_, i) => [`M${i}`, ['m']]));
  const cases = [
    { jobs: { unit: { run: 'true', env, matrix } }, reason: /jobs\.unit\.matrix with env makes 72 variables/ },
    { jobs: { unit: { run: 'true', matrix: { V: ['a\nb'] } } }, reason: /jobs\.unit\.matrix\.V\[0\] must not contain a newline/ },
    { jobs: { unit: { run: 'true', matrix: { V: ['v'.repeat(256)] } } }, reason: /jobs\.unit\.matrix makes the job title .* at most 256/ },
  ];
  // One push: every commit a known branch gains is built, oldest first.
  const bad = cases.map((c, i) => {
    const sha = w.push({ 'keel.json': keelJson(c.jobs) }, `bad ${i}`, { push: false });
    return { ...c, sha };
  });
  const good = w.push({ 'keel.json': keelJson({ ok: { run: 'echo fine' } }) }, 'a good one after them');

  for (const { sha, reason } of bad) {
    const record = await w.result(sha);
    assert.equal(record.status, 'error');
    assert.match(record.message, reason);
    assert.equal(record.jobs.length, 0, 'no job was made, so none was sent');
  }
  assert.equal((await w.result(good)).status, 'passed');
  // Log kept: a reconnect shows nowhere else from outside the runner.
  assert.equal(runner.count(/lost dispatcher|could not register/), 0, `the runner never lost its connection\n${w.logs()}`);
});

test('keel status of a build of 64 jobs with 60 KB of env each: the overview and the build are shown, the build trimmed with a note', async (t) => {
  const w = world(t);
  // 15 variables of 4,000 characters each, and a 2^6 matrix: 64 jobs, a record of about 4 MB.
  const env = Object.fromEntries(Array.from({ length: 15 }, (_, i) => [`BIG_${i}`, String(i).repeat(4000).slice(0, 4000)]));
  const matrix = Object.fromEntries(Array.from({ length: 6 }, (_, i) => [`M${i}`, ['a', 'b']]));
  const sha = w.push({ 'keel.json': keelJson({ unit: { run: 'true', env, matrix, labels: ['nobody-has-this'] } }) }, 'a big build');
  w.cloneFor();
  const d = await w.dispatcher();
  const observer = w.observer(d);
  await observer.delivered(sha);

  const overview = await d.keel('status');
  assert.equal(overview.code, 0, overview.stderr);
  assert.match(overview.stdout, new RegExp(`${sha.slice(0, 12)} +queued`));
  assert.match(overview.stdout, /waiting for a runner with labels nobody-has-this/);
  const one = await d.keel('status', sha);
  assert.equal(one.code, 0, one.stderr);
  assert.match(one.stdout, /status: +queued/);
  assert.match(one.stderr, /trimmed to fit one message/);
  const json = await d.keel('status', sha, '--json');
  assert.equal(json.code, 0, json.stderr);
  const record = JSON.parse(json.stdout);
  assert.equal(record.jobs.length, 64, 'every job is listed');
  assert.deepEqual(record.jobs[0].spec.env, {}, 'the env is what was left out');
});
