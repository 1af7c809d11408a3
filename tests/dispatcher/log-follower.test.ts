// Following a job's log: what is in the file is read from it, the rest is
// taken as it is written, with file offsets throughout, so a follower that
// starts (or resumes) anywhere gets every byte after that exactly once, in
// order, even when its receiver is slow, the log is not open yet, continues
// an earlier file, or passes its cap.
import { strict as assert } from 'node:assert';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { CappedLog, TAIL_BYTES } from '../../src/dispatcher/capped-log.js';
import { HeldBytes } from '../../src/dispatcher/file-appender.js';
import { LiveLogs } from '../../src/dispatcher/live-logs.js';
import { LogFollower, wholeCharacters, type FollowSink } from '../../src/dispatcher/log-follower.js';
import type { BuildStatus } from '../../src/protocol/records.js';
import { tempDir, waitFor } from '../helpers/temp.js';

const held = () => new HeldBytes(64 * 1024 * 1024, 8 * 1024 * 1024);

interface Setup {
  path: string;
  logs: LiveLogs;
  open(maxBytes?: number): CappedLog;
  end(status?: BuildStatus): void;
  follow(from?: number, sink?: Partial<FollowSink>): { chunks: Array<{ offset: number; text: string }>; done: Promise<BuildStatus | null>; follower: LogFollower; text(): string };
}

function setup(t: TestContext): Setup {
  const path = join(tempDir(t), 'x.log');
  const logs = new LiveLogs();
  let ended: BuildStatus | null = null;
  const followers: LogFollower[] = [];
  t.after(() => followers.forEach((f) => f.stop()));
  return {
    path, logs,
    open(maxBytes = 4 * TAIL_BYTES) {
      const log = new CappedLog(path, maxBytes, 1024, held());
      logs.opened(path, log);
      return log;
    },
    end(status = 'passed') {
      ended = status;
      followers.forEach((f) => f.wake());
    },
    follow(from = 0, sink = {}) {
      const chunks: Array<{ offset: number; text: string }> = [];
      const follower = new LogFollower({ logs, path, ended: async () => ended }, from, {
        chunk: (offset, data) => {
          chunks.push({ offset, text: data.toString('utf8') });
          return sink.chunk ? sink.chunk(offset, data, null) : true;
        },
        drained: sink.drained ?? (async () => {}),
      });
      followers.push(follower);
      return { chunks, done: follower.run(), follower, text: () => chunks.map((c) => c.text).join('') };
    },
  };
}

/** Offsets follow on from each other: no byte is sent twice or skipped. */
function assertContiguous(chunks: Array<{ offset: number; text: string }>, from: number): void {
  let at = from;
  for (const chunk of chunks) {
    assert.equal(chunk.offset, at, 'each chunk starts where the last ended');
    at += Buffer.byteLength(chunk.text);
  }
}

test('a follower reads what is in the file, then takes each write, then ends with the job', async (t) => {
  const s = setup(t);
  const log = s.open();
  log.append('before one\nbefore two\n');
  await log.whenFlushed(log.size);
  const f = s.follow();
  await waitFor(() => f.text() === 'before one\nbefore two\n', 'the file part');
  for (let i = 0; i < 100; i++) log.append(`live ${i} é\n`);
  await waitFor(() => f.text().endsWith('live 99 é\n'), 'the live part');
  s.end('failed');
  assert.equal(await f.done, 'failed');
  await log.close();
  assert.equal(f.text(), readFileSync(s.path, 'utf8'));
  assertContiguous(f.chunks, 0);
});

test('a follower that resumes at an offset gets exactly the rest', async (t) => {
  const s = setup(t);
  const log = s.open();
  log.append('0123456789\nabcdefghij\n');
  const f = s.follow(11);
  await waitFor(() => f.text() === 'abcdefghij\n', 'the rest');
  log.append('more\n');
  await waitFor(() => f.text().endsWith('more\n'), 'live');
  s.end();
  await f.done;
  assertContiguous(f.chunks, 11);
});

test('a follower of a log that does not exist yet (a queued job) gets all of it once it starts', async (t) => {
  const s = setup(t);
  const f = s.follow();
  await new Promise((resolve) => setImmediate(resolve));
  const log = s.open();
  log.append('first\n');
  log.append('second\n');
  await waitFor(() => f.text() === 'first\nsecond\n', 'both lines');
  s.end();
  await f.done;
  assertContiguous(f.chunks, 0);
});

test('a slow receiver is not buffered for: it catches up from the file, with nothing lost or repeated', async (t) => {
  const s = setup(t);
  const log = s.open();
  let release: () => void = () => {};
  let slow = true;
  const f = s.follow(0, {
    chunk: () => !slow,
    drained: () => new Promise<void>((resolve) => {
      release = resolve;
    }),
  });
  for (let i = 0; i < 2000; i++) log.append(`line ${i} ${'x'.repeat(100)}\n`);
  await waitFor(() => f.chunks.length > 0, 'the first chunk');
  const taken = f.chunks.length;
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.equal(f.chunks.length, taken, 'nothing more is sent while the receiver is behind');
  slow = false;
  release();
  await log.whenFlushed(log.size);
  await waitFor(() => f.text().endsWith('line 1999 ' + 'x'.repeat(100) + '\n'), 'the rest, from the file');
  s.end();
  await f.done;
  await log.close();
  assert.equal(f.text(), readFileSync(s.path, 'utf8'));
  assertContiguous(f.chunks, 0);
});

test('a log that continues an earlier file (a retry) is followed with the file\'s own offsets', async (t) => {
  const s = setup(t);
  writeFileSync(s.path, 'the first run\n');
  const log = s.open();
  log.append('the second run\n');
  assert.equal(await log.whenOpen(), 14);
  const f = s.follow(14);
  await waitFor(() => f.text() === 'the second run\n', 'the new part');
  log.append('live\n');
  await waitFor(() => f.text().endsWith('live\n'), 'live');
  s.end();
  await f.done;
  assertContiguous(f.chunks, 14);
});

test('past its cap a log\'s follower waits for the kept tail, written when the log closes', async (t) => {
  const s = setup(t);
  const log = s.open(TAIL_BYTES + 1000);
  const f = s.follow();
  const line = `${'y'.repeat(99)}\n`;
  for (let i = 0; i < (TAIL_BYTES / 100) * 3; i++) log.append(line);
  s.end();
  await new Promise((resolve) => setTimeout(resolve, 50));
  let done = false;
  void f.done.then(() => (done = true));
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.equal(done, false, 'not ended while the tail waits in memory');
  await log.close();
  s.logs.closed(s.path);
  assert.equal(await f.done, 'passed');
  assert.equal(f.text(), readFileSync(s.path, 'utf8'));
  assert.match(f.text(), /\[keel: \d+ bytes of output dropped here/);
  assertContiguous(f.chunks, 0);
});

test('a log nobody follows has no listener; one followed has one until the last follower leaves', async (t) => {
  const s = setup(t);
  const log = s.open();
  assert.equal(log.onWrite, null);
  const f = s.follow();
  await waitFor(() => log.onWrite !== null, 'the listener');
  f.follower.stop();
  await f.done;
  assert.equal(log.onWrite, null);
  assert.equal(s.logs.followers, 0);
});

test('chunks are cut between characters, never inside one', () => {
  const text = Buffer.from('aé€😀');
  for (let cut = 1; cut <= text.length; cut++) {
    const piece = wholeCharacters(text.subarray(0, cut));
    assert.ok(!piece.toString('utf8').includes('\ufffd'), `cut at ${cut}`);
  }
  assert.equal(wholeCharacters(text.subarray(0, 2), true).length, 2, 'at the log\'s end nothing is held back');
});
