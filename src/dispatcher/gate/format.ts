// The gate's requests and batches read back from the journal and snapshot
// with the wire's field readers, like every other record.

import { bool, int, list, nullable, object, oneOf, text, type Fields } from '../../protocol/fields.js';
import { LIMITS } from '../../protocol/limits.js';
import { commitId, plainName, refName, repoUrl, requestId, time } from '../../protocol/record-fields.js';
import { BUILD_STATUSES, LAND_STATES } from '../../protocol/records.js';
import type { Batch, GateCounts, LandRequest } from './types.js';

const KINDS = ['land', 'try'] as const;
const BATCH_STATES = ['merging', 'testing', 'waiting', 'landing', 'done'] as const;
const RETRY_STATES = ['none', 'running', 'passed', 'failed'] as const;
const MAX = Number.MAX_SAFE_INTEGER;
const ids = (o: Fields, f: string) => list(o, f, LIMITS.batchRequests, requestId);
const jobNames = (o: Fields, f: string) => list(o, f, LIMITS.jobsPerBuild, plainName);

export function landRequest(o: Fields, f: string): LandRequest {
  const r = object(o, f);
  return {
    id: requestId(r, 'id'), kind: oneOf(r, 'kind', KINDS), project: nullable(r, 'project', plainName),
    branch: refName(r, 'branch'), target: refName(r, 'target'), head: commitId(r, 'head'),
    priority: int(r, 'priority', -LIMITS.priority, LIMITS.priority), squash: bool(r, 'squash'), by: text(r, 'by', LIMITS.printable + 32),
    state: oneOf(r, 'state', LAND_STATES), message: text(r, 'message', 2 * LIMITS.text), queuedAt: time(r, 'queuedAt'),
    endedAt: nullable(r, 'endedAt', time), flaky: bool(r, 'flaky'), landedAs: nullable(r, 'landedAs', commitId),
    builds: list(r, 'builds', MAX, (x, k) => {
      const b = object(x, k);
      return { batch: requestId(b, 'batch'), commit: commitId(b, 'commit'), base: commitId(b, 'base'), status: oneOf(b, 'status', BUILD_STATUSES) };
    }),
    batch: nullable(r, 'batch', requestId), seq: int(r, 'seq', 1, MAX), order: int(r, 'order', 1, MAX),
    group: nullable(r, 'group', (x, k) => text(x, k, 64)), known: jobNames(r, 'known'),
  };
}

export function batch(o: Fields, f: string): Batch {
  const b = object(o, f);
  return {
    id: requestId(b, 'id'), kind: oneOf(b, 'kind', KINDS), project: nullable(b, 'project', plainName), target: refName(b, 'target'),
    requests: ids(b, 'requests'), state: oneOf(b, 'state', BATCH_STATES), attempt: int(b, 'attempt', 1, MAX),
    repo: nullable(b, 'repo', repoUrl), base: nullable(b, 'base', commitId), commit: nullable(b, 'commit', commitId),
    onto: nullable(b, 'onto', requestId), retry: oneOf(b, 'retry', RETRY_STATES),
    verdict: nullable(b, 'verdict', (x, k) => oneOf(x, k, ['passed', 'failed'] as const)), failing: jobNames(b, 'failing'),
    endedAt: nullable(b, 'endedAt', time), pruned: bool(b, 'pruned'),
  };
}

export function gateCounts(o: Fields, f: string): GateCounts {
  const c = object(o, f);
  return { requests: int(c, 'requests', 0, MAX), batches: int(c, 'batches', 0, MAX), order: int(c, 'order', 0, MAX) };
}
