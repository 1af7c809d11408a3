// What of the gate's past the state keeps. Finished requests are kept for
// `keel queue` and to recognise a landed commit when it arrives on its
// target, up to a number; batches until their ref in origin is removed.
// Run on every gate record, so replay forgets exactly what the live
// dispatcher forgot.

import type { Batch, LandRequest } from './types.js';

/** Finished requests kept, newest first. */
export const KEPT_FINISHED_REQUESTS = 1000;

export function forgetOld(requests: Map<string, LandRequest>, batches: Map<string, Batch>): void {
  const finished = [...requests.values()].filter((r) => r.endedAt !== null);
  if (finished.length > KEPT_FINISHED_REQUESTS) {
    finished.sort((a, b) => a.seq - b.seq);
    for (const request of finished.slice(0, finished.length - KEPT_FINISHED_REQUESTS)) requests.delete(request.id);
  }
  for (const batch of [...batches.values()]) if (batch.state === 'done' && batch.pruned) batches.delete(batch.id);
}
