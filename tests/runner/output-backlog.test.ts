import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { MAX_OUTPUT_CHUNK } from '../../src/protocol/messages.js';
import { lostNote, OutputBacklog } from '../../src/runner/output-backlog.js';

test('held output comes back in order per lease, neighbouring pieces of a stream merged', () => {
  const backlog = new OutputBacklog();
  backlog.push('a', 'stdout', 'one ');
  backlog.push('b', 'stdout', 'other');
  backlog.push('a', 'stdout', 'two ');
  backlog.push('a', 'stderr', 'warn ');
  backlog.push('a', 'stdout', 'three');
  backlog.push('a', 'stdout', '');
  const { messages, dropped } = backlog.take();
  assert.deepEqual(messages, [
    { type: 'output', lease: 'a', stream: 'stdout', data: 'one two ' },
    { type: 'output', lease: 'a', stream: 'stderr', data: 'warn ' },
    { type: 'output', lease: 'a', stream: 'stdout', data: 'three' },
    { type: 'output', lease: 'b', stream: 'stdout', data: 'other' },
  ]);
  assert.equal(dropped.size, 0);
  assert.equal(backlog.isEmpty, true);
  assert.deepEqual(backlog.take().messages, []);
});

test('merged output is cut into chunks the protocol allows', () => {
  const backlog = new OutputBacklog();
  const piece = 'x'.repeat(40_000);
  for (let i = 0; i < 5; i += 1) backlog.push('a', 'stdout', piece);
  const { messages } = backlog.take();
  assert.ok(messages.every((m) => m.data.length <= MAX_OUTPUT_CHUNK));
  assert.equal(messages.map((m) => m.data).join(''), piece.repeat(5));
});

test('past the limit the oldest output is dropped, counted in bytes, and noted where the gap is', () => {
  const backlog = new OutputBacklog(10);
  backlog.push('a', 'stdout', 'ééé'); // 6 bytes
  backlog.push('a', 'stdout', '1234');
  backlog.push('a', 'stdout', '5678');
  backlog.push('b', 'stdout', 'fine');
  const { messages, dropped } = backlog.take();
  assert.deepEqual([...dropped], [['a', 6]]);
  assert.deepEqual(messages, [
    { type: 'output', lease: 'a', stream: 'stderr', data: lostNote(6) },
    { type: 'output', lease: 'a', stream: 'stdout', data: '12345678' },
    { type: 'output', lease: 'b', stream: 'stdout', data: 'fine' },
  ]);
  assert.equal(lostNote(6), '\n[keel: 6 bytes of output lost while the dispatcher was unreachable]\n');
});

test('the newest piece is kept even when it alone is over the limit, and forget drops a lease', () => {
  const backlog = new OutputBacklog(4);
  backlog.push('a', 'stdout', 'old');
  backlog.push('a', 'stdout', 'newer and longer');
  backlog.push('gone', 'stdout', 'never sent');
  backlog.forget('gone');
  assert.deepEqual(backlog.take().messages.map((m) => m.data), [lostNote(3), 'newer and longer']);
});
