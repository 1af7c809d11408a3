import { strict as assert } from 'node:assert';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { MAX_OUTPUT_CHUNK, type Stream } from '../../src/protocol/messages.js';
import { killGroup } from '../../src/runner/process-group.js';
import { splitChunk } from '../../src/runner/pipe-output.js';
import { runTests, type OutputSink, type RunOptions } from '../../src/runner/run-tests.js';
import { chooseTestCommand, JUNIT_FILE, type TestPlan } from '../../src/runner/test-command.js';
import { testEnv } from '../../src/runner/test-env.js';
import { stopAtEnd, tempDir, waitFor } from '../helpers/temp.js';
import { gone, killGroupOf } from '../helpers/processes.js';

interface Collector extends OutputSink {
  writes: { stream: Stream; data: string }[];
  text(stream: Stream): string;
}

/** A sink that takes everything; `onWrite` may return false to apply back-pressure. */
function collector(onWrite: (stream: Stream, data: string) => boolean | void = () => true): Collector {
  const writes: Collector['writes'] = [];
  const drains: (() => void)[] = [];
  return {
    writes,
    text: (stream) => writes.filter((w) => w.stream === stream).map((w) => w.data).join(''),
    write(stream, data) {
      writes.push({ stream, data });
      return onWrite(stream, data) !== false;
    },
    onDrain(listener) {
      drains.push(listener);
    },
  };
}

/** Writes an executable `#!/bin/sh` script into `<dir>/tests/<name>`. */
function script(dir: string, name: string, body: string): void {
  mkdirSync(join(dir, 'tests'), { recursive: true });
  const path = join(dir, 'tests', name);
  writeFileSync(path, `#!/bin/sh\n${body}\n`);
  chmodSync(path, 0o755);
}

/** A plan of one `node <file>` step, for children whose output must be byte-exact. */
function nodeScript(dir: string, source: string): TestPlan {
  writeFileSync(join(dir, 'child.mjs'), source);
  return { steps: [[process.execPath, 'child.mjs']], description: 'node child.mjs' };
}

function options(cwd: string, plan: TestPlan, output: OutputSink, extra: Partial<RunOptions> = {}): RunOptions {
  return { cwd, plan, env: testEnv(process.env, {}), timeoutMs: 30_000, killGraceMs: 200, output, ...extra };
}

test('a passing script: output streamed, outcome passed', async (t) => {
  const dir = tempDir(t);
  script(dir, 'ok', 'echo hello\necho "commit=$KEEL_COMMIT ci=$CI token=$KEEL_TOKEN" >&2');
  const sink = collector();
  const before = Date.now();
  const plan = await chooseTestCommand(dir);
  const outcome = await runTests(options(dir, plan, sink, { env: testEnv({ ...process.env, KEEL_TOKEN: 'secret' }, { KEEL_COMMIT: 'abc' }) }));
  assert.deepEqual({ ...outcome, startedAt: '', durationMs: 0 }, {
    status: 'passed', exitCode: 0, signal: null, timedOut: false, startedAt: '', durationMs: 0,
    command: ['./tests/ok'], message: '', counts: null, infra: false, cancelled: false, failedTests: [], junit: null,
  });
  assert.ok(Date.parse(outcome.startedAt) >= before - 1000);
  assert.ok(outcome.durationMs >= 0);
  assert.equal(sink.text('stdout'), 'hello\n');
  assert.equal(sink.text('stderr'), 'commit=abc ci=true token=\n');
});

test('a failing script: outcome failed with its exit code', async (t) => {
  const dir = tempDir(t);
  script(dir, 'bad', 'echo nope\nexit 3');
  const outcome = await runTests(options(dir, await chooseTestCommand(dir), collector()));
  assert.equal(outcome.status, 'failed');
  assert.equal(outcome.exitCode, 3);
  assert.equal(outcome.signal, null);
  assert.equal(outcome.message, 'tests exited with code 3');
});

test('a script killed by a signal fails with that signal', async (t) => {
  const dir = tempDir(t);
  script(dir, 'crash', 'kill -KILL $$');
  const outcome = await runTests(options(dir, await chooseTestCommand(dir), collector()));
  assert.equal(outcome.status, 'failed');
  assert.equal(outcome.exitCode, null);
  assert.equal(outcome.signal, 'SIGKILL');
  assert.equal(outcome.message, 'tests was killed by SIGKILL');
});

test('several executables: all run even when one fails', async (t) => {
  const dir = tempDir(t);
  script(dir, 'a', 'echo a; touch ran-a');
  script(dir, 'b', 'echo b; exit 2');
  script(dir, 'c', 'echo c; touch ran-c');
  const sink = collector();
  const outcome = await runTests(options(dir, await chooseTestCommand(dir), sink));
  assert.equal(outcome.status, 'failed');
  assert.equal(outcome.exitCode, 2);
  assert.deepEqual(outcome.command, ['./tests/a', './tests/b', './tests/c']);
  assert.equal(outcome.message, '1 of 3 steps failed: ./tests/b exited with code 2');
  assert.ok(existsSync(join(dir, 'ran-a')) && existsSync(join(dir, 'ran-c')));
  assert.equal(sink.text('stdout'), 'a\nb\nc\n');
});

test('several executables all passing report the last exit code', async (t) => {
  const dir = tempDir(t);
  script(dir, 'a', 'exit 0');
  script(dir, 'b', 'exit 0');
  const outcome = await runTests(options(dir, await chooseTestCommand(dir), collector()));
  assert.equal(outcome.status, 'passed');
  assert.equal(outcome.exitCode, 0);
});

test('a multi-byte character split across reads arrives intact', async (t) => {
  const dir = tempDir(t);
  // The child writes 'a' and half of an emoji, waits for the test to see 'a', then writes the rest.
  const plan = nodeScript(dir, `
    import { existsSync } from 'node:fs';
    const emoji = Buffer.from('😀');
    process.stdout.write(Buffer.concat([Buffer.from('a'), emoji.subarray(0, 2)]));
    const timer = setInterval(() => {
      if (!existsSync('go')) return;
      clearInterval(timer);
      process.stdout.write(Buffer.concat([emoji.subarray(2), Buffer.from('é\\n')]));
    }, 5);
  `);
  const sink = collector((_stream, data) => {
    if (data === 'a') writeFileSync(join(dir, 'go'), '');
  });
  const outcome = await runTests(options(dir, plan, sink));
  assert.equal(outcome.status, 'passed');
  assert.deepEqual(sink.writes, [
    { stream: 'stdout', data: 'a' },
    { stream: 'stdout', data: '😀é\n' },
  ]);
});

test('output over 64 KiB is split into well-formed chunks of at most MAX_OUTPUT_CHUNK', async (t) => {
  const dir = tempDir(t);
  const unit = 'x😀é';
  const plan = nodeScript(dir, `process.stdout.write(${JSON.stringify(unit)}.repeat(100000));`);
  const sink = collector();
  const outcome = await runTests(options(dir, plan, sink));
  assert.equal(outcome.status, 'passed');
  assert.ok(sink.writes.length > 1);
  for (const { data } of sink.writes) {
    assert.ok(data.length <= MAX_OUTPUT_CHUNK, `chunk of ${data.length}`);
    assert.equal(Buffer.from(data).toString(), data, 'no lone surrogate');
  }
  assert.equal(sink.text('stdout'), unit.repeat(100000));
});

test('splitChunk never splits a surrogate pair', () => {
  assert.deepEqual(splitChunk('abc', 3), ['abc']);
  assert.deepEqual(splitChunk('abcdefg', 3), ['abc', 'def', 'g']);
  assert.deepEqual(splitChunk('ab😀cd', 3), ['ab', '😀c', 'd']);
  assert.deepEqual(splitChunk('😀😀😀', 3), ['😀', '😀', '😀']);
  const long = 'é😀'.repeat(50_000);
  const chunks = splitChunk(long, MAX_OUTPUT_CHUNK);
  assert.equal(chunks.join(''), long);
  for (const chunk of chunks) {
    assert.ok(chunk.length <= MAX_OUTPUT_CHUNK);
    assert.equal(Buffer.from(chunk).toString(), chunk);
  }
});

test('back-pressure: a sink returning false pauses the pipes until onDrain', async (t) => {
  const dir = tempDir(t);
  // 'first', then (once the test says go) 'second', and a marker once 'second' is in the pipe.
  const plan = nodeScript(dir, `
    import { existsSync, writeFileSync } from 'node:fs';
    process.stdout.write('first\\n');
    const timer = setInterval(() => {
      if (!existsSync('go')) return;
      clearInterval(timer);
      process.stdout.write('second\\n', () => writeFileSync('written', ''));
    }, 5);
  `);
  const drains: (() => void)[] = [];
  const sink = collector(() => false);
  sink.onDrain = (listener) => drains.push(listener);
  const running = runTests(options(dir, plan, sink));
  await waitFor(() => sink.writes.length === 1, 'the first write');
  writeFileSync(join(dir, 'go'), '');
  await waitFor(() => existsSync(join(dir, 'written')), 'the child to write more');
  // The data sits in the pipe; give the event loop a few turns in which it would have been read.
  for (let turn = 0; turn < 5; turn++) await new Promise((resolve) => setTimeout(resolve, 10));
  assert.deepEqual(sink.writes, [{ stream: 'stdout', data: 'first\n' }], 'nothing read while paused');
  assert.equal(drains.length, 1, 'one drain listener per pause');
  sink.write = (stream, data) => (sink.writes.push({ stream, data }), true);
  drains[0]!();
  const outcome = await running;
  assert.equal(outcome.status, 'passed');
  assert.equal(sink.text('stdout'), 'first\nsecond\n');
});

test('a sink that never drains cannot hold the run past the timeout', async (t) => {
  const dir = tempDir(t);
  const plan = nodeScript(dir, "process.stdout.write('x'.repeat(512 * 1024));");
  const sink = collector(() => false);
  const outcome = await runTests(options(dir, plan, sink, { timeoutMs: 500 }));
  assert.equal(outcome.status, 'error');
  assert.equal(outcome.timedOut, true);
  assert.ok(sink.text('stdout').length < 512 * 1024, 'reading stopped when the sink fell behind');
});

test('timeout kills the whole process group and skips later steps', async (t) => {
  const dir = tempDir(t);
  script(dir, 'a-hang', 'sleep 1000 &\necho $! > grandchild.pid\nsleep 1000');
  script(dir, 'b-after', 'touch ran-b');
  const outcome = await runTests(options(dir, await chooseTestCommand(dir), collector(), { timeoutMs: 500 }));
  assert.equal(outcome.status, 'error');
  assert.equal(outcome.timedOut, true);
  assert.equal(outcome.message, 'timed out after 500 ms');
  assert.equal(outcome.infra, false, "a timeout is the tests' problem");
  assert.equal(outcome.signal, 'SIGTERM');
  assert.ok(outcome.durationMs >= 500);
  const grandchild = Number(readFileSync(join(dir, 'grandchild.pid'), 'utf8'));
  assert.ok(grandchild > 0);
  assert.ok(gone(grandchild), `grandchild ${grandchild} is gone`);
  assert.equal(existsSync(join(dir, 'ran-b')), false);
});

test('a script that ignores SIGTERM is SIGKILLed after the grace period', async (t) => {
  const dir = tempDir(t);
  script(dir, 'stubborn', "trap '' TERM\nsleep 1000 &\necho $! > grandchild.pid\nsleep 1000");
  const outcome = await runTests(options(dir, await chooseTestCommand(dir), collector(), { timeoutMs: 500, killGraceMs: 300 }));
  assert.equal(outcome.timedOut, true);
  assert.equal(outcome.signal, 'SIGKILL');
  assert.ok(outcome.durationMs >= 800, `took ${outcome.durationMs} ms`);
  assert.ok(gone(Number(readFileSync(join(dir, 'grandchild.pid'), 'utf8'))));
});

test('background children left behind by a finished step are killed', async (t) => {
  const dir = tempDir(t);
  // The stray keeps stdout open: without the kill, 'close' would wait for it.
  script(dir, 'leaky', 'sleep 1000 &\necho $! > stray.pid\nexit 0');
  const outcome = await runTests(options(dir, await chooseTestCommand(dir), collector()));
  assert.equal(outcome.status, 'passed');
  assert.equal(outcome.timedOut, false);
  assert.ok(gone(Number(readFileSync(join(dir, 'stray.pid'), 'utf8'))));
});

test('aborting cancels: the group is killed and the outcome says cancelled', async (t) => {
  const dir = tempDir(t);
  script(dir, 'a-long', 'sleep 1000 &\necho $! > grandchild.pid\necho started\nsleep 1000');
  script(dir, 'b-after', 'touch ran-b');
  const controller = new AbortController();
  const sink = collector((_stream, data) => {
    if (data.includes('started')) controller.abort();
  });
  const outcome = await runTests(options(dir, await chooseTestCommand(dir), sink, { signal: controller.signal }));
  assert.equal(outcome.status, 'error');
  assert.equal(outcome.message, 'cancelled');
  assert.equal(outcome.timedOut, false);
  assert.equal(outcome.signal, 'SIGTERM');
  assert.ok(gone(Number(readFileSync(join(dir, 'grandchild.pid'), 'utf8'))));
  assert.equal(existsSync(join(dir, 'ran-b')), false);
});

test('an already aborted signal runs nothing', async (t) => {
  const dir = tempDir(t);
  script(dir, 'a', 'touch ran-a');
  const outcome = await runTests(options(dir, await chooseTestCommand(dir), collector(), { signal: AbortSignal.abort() }));
  assert.equal(outcome.message, 'cancelled');
  assert.equal(existsSync(join(dir, 'ran-a')), false);
});

test('spawn failures: ENOENT and EACCES name the file and the code', async (t) => {
  const dir = tempDir(t);
  const missing = await runTests(options(dir, { steps: [['./tests/missing']], description: '' }, collector()));
  assert.equal(missing.status, 'error');
  assert.equal(missing.exitCode, null);
  assert.equal(missing.message, 'could not start ./tests/missing: ENOENT');
  assert.equal(missing.infra, false, "a missing command is the repository's problem");
  mkdirSync(join(dir, 'tests'));
  writeFileSync(join(dir, 'tests', 'not-executable'), '#!/bin/sh\n');
  const denied = await runTests(options(dir, { steps: [['./tests/not-executable']], description: '' }, collector()));
  assert.equal(denied.status, 'error');
  assert.equal(denied.message, 'could not start ./tests/not-executable: EACCES');
  assert.equal(denied.infra, false);
});

test('real node --test: one passing and one failing test file give counts', async (t) => {
  const dir = tempDir(t);
  mkdirSync(join(dir, 'tests'));
  writeFileSync(join(dir, 'tests', 'good.test.mjs'), "import test from 'node:test';\ntest('good', () => {});\n");
  writeFileSync(join(dir, 'tests', 'bad.test.mjs'), "import test from 'node:test';\ntest('bad', () => { throw new Error('boom'); });\n");
  const sink = collector();
  const outcome = await runTests(options(dir, await chooseTestCommand(dir), sink));
  assert.equal(outcome.status, 'failed');
  assert.equal(outcome.exitCode, 1);
  assert.deepEqual(outcome.counts, { tests: 2, passed: 1, failed: 1, skipped: 0 });
  assert.equal(outcome.infra, false);
  assert.match(sink.text('stdout'), /^TAP version 13$/m, 'TAP to stdout alongside the JUnit reporter');
  assert.match(readFileSync(join(dir, JUNIT_FILE), 'utf8'), /<testcase name="bad"/);
});

test('real python unittest gives counts and names each failed test and error', async (t) => {
  const dir = tempDir(t);
  mkdirSync(join(dir, 'tests'));
  writeFileSync(join(dir, 'tests', 'test_things.py'), [
    'import unittest',
    'class Things(unittest.TestCase):',
    '    def test_ok(self): pass',
    '    def test_bad(self): self.assertEqual(1, 2)',
    '    def test_broken(self): raise RuntimeError("boom")',
    '    def test_params(self):',
    '        for i in (1, 2):',
    '            with self.subTest(i=i): self.assertLess(i, 2)',
    '    @unittest.skip("later")',
    '    def test_later(self): pass',
    '',
  ].join('\n'));
  const outcome = await runTests(options(dir, await chooseTestCommand(dir), collector()));
  assert.equal(outcome.status, 'failed');
  assert.deepEqual(outcome.counts, { tests: 5, passed: 1, failed: 3, skipped: 1 });
  assert.deepEqual([...outcome.failedTests].sort(), ['test_things.Things.test_bad', 'test_things.Things.test_broken', 'test_things.Things.test_params (i=2)']);
});

test('killGroup reports a group that is gone', async (t) => {
  const dir = tempDir(t);
  script(dir, 'quick', 'echo $$ > leader.pid');
  await runTests(options(dir, await chooseTestCommand(dir), collector()));
  assert.equal(killGroup(Number(readFileSync(join(dir, 'leader.pid'), 'utf8')), 'SIGTERM'), false);
});

/**
 * Shell lines that start `sleep 1000` in a session of its own, keeping the
 * script's stdout and stderr, and wait until it is there: a script that exited
 * sooner would have it killed with its group before it left.
 */
const DAEMON = "setsid sh -c 'echo $$ > daemon.pid; exec sleep 1000' &\nwhile [ ! -s daemon.pid ]; do sleep 0.01; done";

/** Nothing outside the runner kills that daemon: the test does, when it ends, pass or fail. */
function killDaemonAtEnd(t: TestContext, dir: string): void {
  stopAtEnd(t, () => {
    const file = join(dir, 'daemon.pid');
    if (existsSync(file)) killGroupOf(Number(readFileSync(file, 'utf8')));
  });
}

test('a process outside the group holding the pipes: the step ends a grace after its exit, with its own status', async (t) => {
  const dir = tempDir(t);
  script(dir, 'daemon', `${DAEMON}\necho started\nexit 5`);
  killDaemonAtEnd(t, dir);
  const sink = collector();
  const outcome = await runTests(options(dir, await chooseTestCommand(dir), sink, { pipeGraceMs: 300 }));
  assert.equal(outcome.status, 'failed');
  assert.equal(outcome.exitCode, 5);
  assert.equal(outcome.timedOut, false);
  assert.ok(outcome.durationMs >= 300 && outcome.durationMs < 30_000, `took ${outcome.durationMs} ms`);
  assert.equal(sink.text('stdout'), 'started\n');
  assert.match(sink.text('stderr'), /^\n\[keel: output closed 300 ms after the tests exited: a process they left running still held it\]\n$/);
});

test('the pipe grace does not run while the sink is behind: output written before the exit is all read', async (t) => {
  const dir = tempDir(t);
  const size = 256 * 1024;
  script(dir, 'daemon', `${DAEMON}\nhead -c ${size} /dev/zero | tr '\\0' x\nexit 0`);
  killDaemonAtEnd(t, dir);
  const drains: (() => void)[] = [];
  let holding = true;
  const sink = collector(() => !holding);
  sink.onDrain = (listener) => drains.push(listener);
  const running = runTests(options(dir, await chooseTestCommand(dir), sink, { pipeGraceMs: 50 }));
  await waitFor(() => drains.length === 1, 'the sink to hold the pipes back');
  // Many graces long: were the clock running, the pipes would have been cut by now.
  await new Promise((resolve) => setTimeout(resolve, 500));
  holding = false;
  drains[0]!();
  const outcome = await running;
  assert.equal(outcome.status, 'passed');
  assert.equal(sink.text('stdout'), 'x'.repeat(size));
});
