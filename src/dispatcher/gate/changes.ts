// What one step of the gate's planner (plan.ts) changes: the requests and
// batches it touches, copied from the view on first use, the counts, and
// the actions for the shell to do once the changes are durable.

import { CopyOnWrite } from '../copy-on-write.js';
import type { Action, Batch, GateCounts, GateRules, GateView, LandRequest, Step } from './types.js';

export class Changes {
  private readonly requests: CopyOnWrite<LandRequest>;
  private readonly batches: CopyOnWrite<Batch>;
  readonly actions: Action[] = [];
  counts: GateCounts;

  constructor(view: GateView, readonly rules: GateRules, readonly now: string) {
    this.requests = new CopyOnWrite(view.requests);
    this.batches = new CopyOnWrite(view.batches);
    this.counts = { ...view.counts };
  }

  request(id: string): LandRequest {
    return this.requests.get(id);
  }

  batch(id: string): Batch {
    return this.batches.get(id);
  }

  /** A batch as this step leaves it, without copying it; undefined when it is not known (forgotten). */
  peek(id: string): Batch | undefined {
    return this.batches.peek(id);
  }

  addRequest(request: LandRequest): void {
    this.requests.add(request);
  }

  newBatch(fields: Pick<Batch, 'kind' | 'project' | 'target' | 'requests' | 'onto' | 'base'>): Batch {
    this.counts.batches += 1;
    const batch: Batch = {
      ...fields, id: `B-${this.counts.batches}`, state: 'merging', attempt: 1, repo: null, commit: null,
      retry: 'none', verdict: null, failing: [], endedAt: null, pruned: false,
    };
    this.batches.add(batch);
    for (const id of batch.requests) Object.assign(this.request(id), { state: 'merging', batch: batch.id });
    this.actions.push({ kind: 'merge', batch });
    return batch;
  }

  allBatches(): Batch[] {
    return this.batches.all();
  }

  allRequests(): LandRequest[] {
    return this.requests.all();
  }

  result(): Step {
    return { requests: this.requests.changes(), batches: this.batches.changes(), counts: this.counts, actions: this.actions };
  }
}
