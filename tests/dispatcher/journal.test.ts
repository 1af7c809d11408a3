import assert from 'node:assert/strict';
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { Journal } from '../../src/dispatcher/journal.js';
import { tempDir } from '../helpers/temp.js';

type Rec = { op: string; n?: number };

test('records appended are replayed in order after reopening', async (t) => {
  const dir = tempDir(t);
  const first = await Journal.open<string[], Rec>(dir, () => {});
  await Promise.all([first.journal.append({ op: 'a' }), first.journal.append({ op: 'b' })]);
  await first.journal.append({ op: 'c' });
  await first.journal.close();
  const again = await Journal.open<string[], Rec>(dir, () => {});
  t.after(() => again.journal.close());
  assert.equal(again.snapshot, null);
  assert.deepEqual(again.records.map((r) => r.op), ['a', 'b', 'c']);
});

test('a last line cut mid-write is reported, dropped, and the journal goes on cleanly', async (t) => {
  const dir = tempDir(t);
  const first = await Journal.open<string[], Rec>(dir, () => {});
  await first.journal.append({ op: 'a' });
  await first.journal.close();
  appendFileSync(join(dir, 'dispatcher.journal'), '{"seq":2,"op":"b","n":12');
  const logged: string[] = [];
  const second = await Journal.open<string[], Rec>(dir, (line) => logged.push(line));
  assert.deepEqual(second.records.map((r) => r.op), ['a']);
  assert.equal(logged.length, 1);
  assert.match(logged[0]!, /torn last record/);
  await second.journal.append({ op: 'c' });
  await second.journal.close();
  const third = await Journal.open<string[], Rec>(dir, () => {});
  t.after(() => third.journal.close());
  assert.deepEqual(third.records.map((r) => r.op), ['a', 'c']);
});

test('compaction keeps the state in a snapshot and empties the journal', async (t) => {
  const dir = tempDir(t);
  const { journal } = await Journal.open<string[], Rec>(dir, () => {});
  await journal.append({ op: 'a' });
  await journal.append({ op: 'b' });
  const compacting = journal.compact(['a', 'b']);
  const late = journal.append({ op: 'late' }); // arrives while the snapshot is written
  await compacting;
  await late;
  assert.equal(journal.length, 1);
  await journal.close();
  const again = await Journal.open<string[], Rec>(dir, () => {});
  t.after(() => again.journal.close());
  assert.deepEqual(again.snapshot, ['a', 'b']);
  assert.deepEqual(again.records.map((r) => r.op), ['late'], 'the record appended during compaction survives');
});

test('records the snapshot already holds are skipped (a crash between snapshot and truncation)', async (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, 'dispatcher.snapshot.json'), JSON.stringify({ seq: 2, state: ['a', 'b'] }));
  writeFileSync(join(dir, 'dispatcher.journal'), '{"seq":1,"op":"a"}\n{"seq":2,"op":"b"}\n{"seq":3,"op":"c"}\n');
  const { journal, snapshot, records } = await Journal.open<string[], Rec>(dir, () => {});
  t.after(() => journal.close());
  assert.deepEqual(snapshot, ['a', 'b']);
  assert.deepEqual(records.map((r) => r.op), ['c']);
  await journal.append({ op: 'd' });
  assert.match(readFileSync(join(dir, 'dispatcher.journal'), 'utf8'), /"seq":4,"op":"d"/);
});
