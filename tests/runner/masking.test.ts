// Masking secrets in output: whole texts, and streams cut at every offset and
// byte by byte, so a value split across chunks is masked too; its base64 and
// URL encodings as well; nothing else is held back or changed.
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { Masker } from '../../src/runner/masking.js';
import type { OutputSink } from '../../src/runner/run-tests.js';

const TOKEN = 'tok-3f9a/b+c d';
const masker = new Masker({ DEPLOY_TOKEN: TOKEN, OTHER: 'hunter22' });

function collect(): OutputSink & { text: () => string } {
  const parts: string[] = [];
  return { write: (_stream, data) => (parts.push(data), true), onDrain: (listener) => listener(), text: () => parts.join('') };
}

/** Streams `text` cut into `pieces`, as a job's output would arrive. */
function streamed(text: string, cuts: number[]): string {
  const sink = collect();
  const wrapped = masker.wrap(sink);
  let at = 0;
  for (const cut of [...cuts, text.length]) {
    wrapped.write('stdout', text.slice(at, cut));
    at = cut;
  }
  wrapped.flush();
  return sink.text();
}

test('a value, its base64 (padded or not, URL-safe) and its URL encoding are masked; other text is untouched', () => {
  const base64 = Buffer.from(TOKEN).toString('base64');
  const text = `a ${TOKEN} b ${base64} c ${base64.replace(/=+$/, '')} d ${Buffer.from(TOKEN).toString('base64url')} e ${encodeURIComponent(TOKEN)} f hunter22!`;
  const masked = masker.mask(text);
  assert.equal(masked, 'a [secret DEPLOY_TOKEN] b [secret DEPLOY_TOKEN] c [secret DEPLOY_TOKEN] d [secret DEPLOY_TOKEN] e [secret DEPLOY_TOKEN] f [secret OTHER]!');
  assert.equal(masker.mask('nothing secret here: tok-3f9a hunter2'), 'nothing secret here: tok-3f9a hunter2');
});

test('a value split across chunks at every offset, and byte by byte, is masked; the rest arrives whole and in order', () => {
  const text = `before ${TOKEN} middle ${Buffer.from('hunter22').toString('base64')} after tok-3f end`;
  const expected = masker.mask(text);
  for (let cut = 0; cut <= text.length; cut++) assert.equal(streamed(text, [cut]), expected, `cut at ${cut}`);
  for (let a = 0; a < text.length; a += 3) for (let b = a; b < text.length; b += 5) assert.equal(streamed(text, [a, b]), expected, `cuts ${a}, ${b}`);
  assert.equal(streamed(text, Array.from({ length: text.length }, (_, i) => i)), expected, 'byte by byte');
});

test('only what could begin a secret is held back, and a stream ending mid-way lets it go', () => {
  const sink = collect();
  const wrapped = masker.wrap(sink);
  wrapped.write('stdout', 'line one\n');
  assert.equal(sink.text(), 'line one\n', 'nothing that could begin a secret: sent at once');
  wrapped.write('stdout', 'ends with tok-3');
  assert.equal(sink.text(), 'line one\nends with ', 'the possible start waits');
  wrapped.write('stdout', 'x\n');
  assert.equal(sink.text(), 'line one\nends with tok-3x\n', 'released once it is not one');
  wrapped.write('stderr', 'hunt');
  wrapped.flush();
  assert.equal(sink.text(), 'line one\nends with tok-3x\nhunt');
});

test('without secrets output passes straight through', () => {
  const none = new Masker({});
  assert.equal(none.active, false);
  const sink = collect();
  const wrapped = none.wrap(sink);
  wrapped.write('stdout', 'tok-3');
  assert.equal(sink.text(), 'tok-3');
});

test('an outcome\'s texts are masked before it is spooled', () => {
  const outcome = masker.maskOutcome({
    status: 'failed', exitCode: 1, signal: null, timedOut: false, startedAt: new Date(0).toISOString(), durationMs: 1,
    command: [`deploy --token ${TOKEN}`], message: `failed with ${TOKEN}`, counts: null, infra: false, cancelled: false,
    failedTests: [`uses ${TOKEN}`], junit: `<testcase name="${TOKEN}"/>`,
  });
  assert.ok(!JSON.stringify(outcome).includes(TOKEN), JSON.stringify(outcome));
  assert.equal(outcome.message, 'failed with [secret DEPLOY_TOKEN]');
});

test('a value no URL can hold (a lone surrogate) is still masked as it is', () => {
  const odd = new Masker({ ODD: 'ab\ud800cd' });
  assert.equal(odd.mask('x ab\ud800cd y'), 'x [secret ODD] y');
});

test('masked output still comes in pieces no longer than a chunk may be', () => {
  const short = new Masker({ S: 'abcd' });
  const pieces: string[] = [];
  const wrapped = short.wrap({ write: (_stream, data) => (pieces.push(data), true), onDrain: (listener) => listener() });
  // Every 4 characters become 10: the masked text is far longer than what came in.
  wrapped.write('stdout', 'abcd'.repeat(16_384));
  wrapped.write('stdout', 'ab');
  wrapped.flush();
  assert.ok(pieces.every((piece) => piece.length <= 65_536), String(pieces.map((p) => p.length)));
  assert.equal(pieces.join(''), '[secret S]'.repeat(16_384) + 'ab');
});
