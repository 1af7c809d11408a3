// The journal on real files: replay in order, a torn last line, compaction,
// checksums, records checked like wire lines, and --recover.
import assert from 'node:assert/strict';
import { appendFileSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { formatLine, Journal, JournalError, type JournalFormat } from '../../src/dispatcher/journal.js';
import { tempDir } from '../helpers/temp.js';

type Rec = { op: string; n?: number };

/** Records of a test: an op, and a safe integer n when there is one. */
const FORMAT: JournalFormat<string[], Rec> = {
  readSnapshot: (value) => {
    if (!Array.isArray(value) || !value.every((item) => typeof item === 'string')) throw new Error('not a list of strings');
    return value;
  },
  readRecord: (value) => {
    const record = value as Record<string, unknown>;
    if (typeof record.op !== 'string') throw new Error('field "op" must be a string');
    if (record.n !== undefined && !Number.isSafeInteger(record.n)) throw new Error(`field "n" must be a whole number, got ${String(record.n)}`);
    return record.n === undefined ? { op: record.op } : { op: record.op, n: record.n as number };
  },
};

const open = (dir: string, log: (line: string) => void = () => {}, recover = false) => Journal.open<string[], Rec>(dir, { format: FORMAT, log, recover });
const journalFile = (dir: string) => join(dir, 'dispatcher.journal');

test('records appended are replayed in order after reopening, each line with its checksum', async (t) => {
  const dir = tempDir(t);
  const first = await open(dir);
  await Promise.all([first.journal.append({ op: 'a' }), first.journal.append({ op: 'b' })]);
  await first.journal.append({ op: 'c' });
  await first.journal.close();
  const lines = readFileSync(journalFile(dir), 'utf8').split('\n').filter(Boolean);
  assert.deepEqual(lines.map((line) => `${line}\n`), [
    formatLine('{"seq":1,"op":"a"}'), formatLine('{"seq":2,"op":"b"}'), formatLine('{"seq":3,"op":"c"}'),
  ]);
  const again = await open(dir);
  t.after(() => again.journal.close());
  assert.equal(again.snapshot, null);
  assert.deepEqual(again.records.map((r) => r.op), ['a', 'b', 'c']);
});

test('a journal written before checksums (plain JSON lines) is still read, and goes on with checksummed lines', async (t) => {
  const dir = tempDir(t);
  writeFileSync(journalFile(dir), '{"seq":1,"op":"a"}\n{"seq":2,"op":"b","n":7}\n');
  const first = await open(dir);
  assert.deepEqual(first.records, [{ op: 'a' }, { op: 'b', n: 7 }]);
  await first.journal.append({ op: 'c' });
  await first.journal.close();
  const again = await open(dir);
  t.after(() => again.journal.close());
  assert.deepEqual(again.records.map((r) => r.op), ['a', 'b', 'c']);
});

test('a last line cut mid-write is reported, dropped, and the journal goes on cleanly', async (t) => {
  const dir = tempDir(t);
  const first = await open(dir);
  await first.journal.append({ op: 'a' });
  await first.journal.close();
  appendFileSync(journalFile(dir), formatLine('{"seq":2,"op":"b","n":12}').slice(0, 20));
  const logged: string[] = [];
  const second = await open(dir, (line) => logged.push(line));
  assert.deepEqual(second.records.map((r) => r.op), ['a']);
  assert.equal(logged.length, 1);
  assert.match(logged[0]!, /torn last record/);
  await second.journal.append({ op: 'c' });
  await second.journal.close();
  const third = await open(dir);
  t.after(() => third.journal.close());
  assert.deepEqual(third.records.map((r) => r.op), ['a', 'c']);
});

test('a flipped byte in the middle stops the start naming the line; --recover keeps what came before and moves the rest aside', async (t) => {
  const dir = tempDir(t);
  const first = await open(dir);
  for (const op of ['a', 'b', 'c', 'd']) await first.journal.append({ op });
  await first.journal.close();
  const text = readFileSync(journalFile(dir), 'utf8');
  const at = text.indexOf('"op":"b"') + 6;
  writeFileSync(journalFile(dir), `${text.slice(0, at)}x${text.slice(at + 1)}`);

  await assert.rejects(open(dir), (error: unknown) => {
    assert.ok(error instanceof JournalError);
    assert.equal(error.code, 'bad-journal');
    assert.match(error.message, /dispatcher\.journal line 2 is damaged \(its checksum does not match\); it and the 2 record\(s\) after it/);
    assert.match(error.message, /--recover to keep the 1 record\(s\) before it/);
    return true;
  });

  const logged: string[] = [];
  const recovered = await open(dir, (line) => logged.push(line), true);
  assert.deepEqual(recovered.records.map((r) => r.op), ['a']);
  assert.match(logged.join('\n'), /--recover: .* line 2 is damaged .* kept 1 record\(s\) before it, moved 3 to .*damaged-/);
  await recovered.journal.append({ op: 'e' });
  await recovered.journal.close();
  const aside = readdirSync(dir).filter((name) => name.startsWith('dispatcher.journal.damaged-'));
  assert.equal(aside.length, 1, 'the damaged records were kept for a person to look at');
  assert.equal(readFileSync(join(dir, aside[0]!), 'utf8').split('\n').filter(Boolean).length, 3);
  const again = await open(dir);
  t.after(() => again.journal.close());
  assert.deepEqual(again.records.map((r) => r.op), ['a', 'e'], 'the journal goes on from what was kept');
});

test('a number the journal cannot hold is a damaged record, not a value replayed: seq 1e400, a fraction, n past 2^53', async (t) => {
  for (const bad of ['{"seq":1e400,"op":"a"}', '{"seq":1.5,"op":"a"}', '{"seq":1,"op":"a","n":9007199254740993}', '{"seq":"1","op":"a"}']) {
    const dir = tempDir(t);
    writeFileSync(journalFile(dir), `${formatLine(bad)}${formatLine('{"seq":2,"op":"b"}')}`);
    await assert.rejects(open(dir), /line 1 is damaged/, bad);
  }
});

test('compaction keeps the state in a snapshot and empties the journal', async (t) => {
  const dir = tempDir(t);
  const { journal } = await open(dir);
  await journal.append({ op: 'a' });
  await journal.append({ op: 'b' });
  const compacting = journal.compact(['a', 'b']);
  const late = journal.append({ op: 'late' }); // arrives while the snapshot is written
  await compacting;
  await late;
  assert.equal(journal.length, 1);
  await journal.close();
  const again = await open(dir);
  t.after(() => again.journal.close());
  assert.deepEqual(again.snapshot, ['a', 'b']);
  assert.deepEqual(again.records.map((r) => r.op), ['late'], 'the record appended during compaction survives');
});

test('records the snapshot already holds are skipped (a crash between snapshot and truncation)', async (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, 'dispatcher.snapshot.json'), JSON.stringify({ seq: 2, state: ['a', 'b'] }));
  writeFileSync(journalFile(dir), '{"seq":1,"op":"a"}\n{"seq":2,"op":"b"}\n{"seq":3,"op":"c"}\n');
  const { journal, snapshot, records } = await open(dir);
  t.after(() => journal.close());
  assert.deepEqual(snapshot, ['a', 'b']);
  assert.deepEqual(records.map((r) => r.op), ['c']);
  await journal.append({ op: 'd' });
  assert.match(readFileSync(journalFile(dir), 'utf8'), /"seq":4,"op":"d"/);
});

test('a snapshot that is not what its reader expects stops the start with its path', async (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, 'dispatcher.snapshot.json'), JSON.stringify({ seq: 2, state: { builds: 'x' } }));
  await assert.rejects(open(dir), /cannot use the snapshot .*dispatcher\.snapshot\.json: not a list of strings/);
});
