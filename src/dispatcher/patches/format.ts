// Patches read back from the journal and snapshot with the wire's readers.

import { int, list, nullable, object, oneOf, type Fields } from '../../protocol/fields.js';
import { LIMITS } from '../../protocol/limits.js';
import { patchRecord } from '../../protocol/patch-fields.js';
import { commitId, count, repoUrl } from '../../protocol/record-fields.js';
import type { Bisect, PatchCounts, PatchEntry } from './types.js';

const MAX = Number.MAX_SAFE_INTEGER;

function bisect(o: Fields, f: string): Bisect {
  const b = object(o, f);
  const phase = oneOf(b, 'phase', ['range', 'search'] as const);
  if (phase === 'range') return { phase };
  const commits = list(b, 'commits', LIMITS.trunkRange, commitId);
  return { phase, commits, good: int(b, 'good', -1, commits.length - 1), bad: int(b, 'bad', 0, commits.length - 1) };
}

export function patchEntry(o: Fields, f: string): PatchEntry {
  const p = object(o, f);
  return {
    ...patchRecord(o, f), seq: int(p, 'seq', 1, MAX), pendingRetest: nullable(p, 'pendingRetest', commitId), bisect: nullable(p, 'bisect', bisect),
    repo: nullable(p, 'repo', repoUrl),
  };
}

export function patchCounts(o: Fields, f: string): PatchCounts {
  return { patches: count(object(o, f), 'patches') };
}
