// The notes writer on real repositories: notes pushed to origin, a later
// run's note replacing the earlier, two writers racing on one notes ref
// losing nothing (as two dispatchers' observers would), an unreachable origin
// tried again until it is back, and the queue kept on disk across a restart.
import assert from 'node:assert/strict';
import { renameSync } from 'node:fs';
import { dirname } from 'node:path';
import { test, type TestContext } from 'node:test';
import { parseObserverConfig } from '../../src/observer/config.js';
import { NotesWriter } from '../../src/observer/notes.js';
import type { BuildSummary } from '../../src/protocol/records.js';
import { commitFiles, git, makeCentralAndClone } from '../helpers/git-repo.js';
import { noteOf, notedCommits } from '../helpers/notes.js';
import { tempDir, waitFor } from '../helpers/temp.js';

function build(commit: string, patch: Partial<BuildSummary> = {}): BuildSummary {
  return {
    commit, project: null, ref: 'refs/heads/main', subject: { kind: 'push', base: null, request: null, requests: [] }, run: 1, status: 'passed',
    flaky: false, note: '', queuedAt: '2026-01-02T03:04:00.000Z', startedAt: null, endedAt: '2026-01-02T03:04:01.000Z',
    durationMs: 1000, counts: null, jobs: { passed: 1 }, runners: [], unwritten: false, ...patch,
  };
}

/** origin with a commit, and `count` observers' clones of it, each with its own --state. */
function origin(t: TestContext) {
  const { central, clone, work } = makeCentralAndClone(t);
  const first = commitFiles(work, { 'a.txt': '1' }, 'first');
  git(work, 'push', '-q', 'origin', 'main');
  git(dirname(clone), 'clone', '-q', central, clone);
  return { central, clone, work, first };
}

async function writer(t: TestContext, clone: string, state = tempDir(t)): Promise<{ notes: NotesWriter; lines: string[]; state: string }> {
  const config = await parseObserverConfig(['--notes', '--state', state, '--git-name', 'Keel Test', '--git-email', 'keel@test.invalid', clone]);
  const lines: string[] = [];
  const notes = await NotesWriter.open(config.notes!, (line) => lines.push(line));
  t.after(() => notes.stop());
  notes.start();
  return { notes, lines, state };
}

const fakeCommit = (i: number, side: string) => `${side}${i.toString(16)}`.padEnd(40, 'e');

test('two writers racing on one notes ref lose no note', async (t) => {
  const { central, clone } = origin(t);
  const other = `${clone}-2`;
  git(dirname(clone), 'clone', '-q', central, other);
  const a = await writer(t, clone);
  const b = await writer(t, other);
  const commits = { a: Array.from({ length: 30 }, (_, i) => fakeCommit(i, 'a')), b: Array.from({ length: 30 }, (_, i) => fakeCommit(i, 'b')) };
  // Each adds its notes one at a time, as `finished` events arrive, both at once.
  await Promise.all([
    (async () => { for (const sha of commits.a) await a.notes.add({ build: build(sha), jobs: [] }); })(),
    (async () => { for (const sha of commits.b) await b.notes.add({ build: build(sha, { status: 'failed', jobs: { failed: 1 } }), jobs: [] }); })(),
  ]);
  await waitFor(() => a.notes.pending === 0 && b.notes.pending === 0, 'both queues to empty', 60_000);
  const noted = new Set(notedCommits(central));
  for (const sha of [...commits.a, ...commits.b]) assert.ok(noted.has(sha), `a note for ${sha}`);
  assert.match(noteOf(central, commits.b[7]!)!, /^keel: failed/);
  // The ref only ever moved forward: every note commit is on one line of history.
  assert.equal(git(central, 'rev-list', '--count', '--merges', 'refs/notes/keel'), '0');
});

test('a later run replaces the note of the earlier one; an earlier run arriving late changes nothing', async (t) => {
  const { central, clone, first } = origin(t);
  const { notes } = await writer(t, clone);
  await notes.add({ build: build(first, { status: 'failed', jobs: { failed: 1 } }), jobs: [] });
  await waitFor(() => noteOf(central, first)?.startsWith('keel: failed'), 'the first run\'s note');
  await notes.add({ build: build(first, { run: 2 }), jobs: [] });
  await notes.add({ build: build(first, { status: 'failed', jobs: { failed: 1 }, run: 1 }), jobs: [] });
  await waitFor(() => notes.pending === 0 && noteOf(central, first)?.startsWith('keel: passed'), 'the second run\'s note');
  assert.equal(noteOf(central, first), 'keel: passed 1/1 job, 1 s, run 2\n');
});

test('an unreachable origin is tried again with backoff; the queue waits on disk through a restart', async (t) => {
  const { central, clone, first } = origin(t);
  renameSync(central, `${central}.away`);
  const state = tempDir(t);
  const one = await writer(t, clone, state);
  await one.notes.add({ build: build(first), jobs: [] });
  // Log kept: only the log says a push was tried and failed.
  await waitFor(() => one.lines.some((line) => /notes: cannot push refs\/notes\/keel/.test(line)), 'the failure logged');
  await one.notes.stop();
  assert.equal(one.notes.pending, 1);

  renameSync(`${central}.away`, central);
  const two = await writer(t, clone, state);
  await waitFor(() => noteOf(central, first), 'the note pushed by the next run', 30_000);
  await waitFor(() => two.notes.pending === 0, 'the queue emptied');
  assert.ok(two.lines.some((line) => /1 note\(s\) from the last run/.test(line)), two.lines.join('\n'));
});
