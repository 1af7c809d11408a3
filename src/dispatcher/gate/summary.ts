// A land or try request as `keel queue` shows it, bounded in size.

import type { LandSummary } from '../../protocol/records.js';
import { clip } from '../queries.js';
import type { LandRequest } from './types.js';

const SHOWN_BUILDS = 20;

export function summariseRequest(request: LandRequest): LandSummary {
  const { batch: _batch, seq: _seq, ...shown } = request;
  return { ...shown, message: clip(request.message, 1024), builds: request.builds.slice(-SHOWN_BUILDS) };
}

/** The queue of every target in order (by priority, then arrival), then the requests that are over, newest first. */
export function queueOf(requests: Iterable<LandRequest>): LandRequest[] {
  const all = [...requests];
  const open = all.filter((r) => r.endedAt === null).sort((a, b) => (a.project ?? '').localeCompare(b.project ?? '') || a.target.localeCompare(b.target) || b.priority - a.priority || a.seq - b.seq);
  const over = all.filter((r) => r.endedAt !== null).sort((a, b) => b.seq - a.seq);
  return [...open, ...over];
}
