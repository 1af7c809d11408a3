// Test output produced while the dispatcher is unreachable, held per lease
// and sent once the runner has registered again. Bounded: past the limit the
// oldest output goes first (the end of a log says the most), and the number
// of bytes dropped is reported in the log itself, where the gap is.

import { LIMITS } from '../protocol/limits.js';
import type { Output, Stream } from '../protocol/messages.js';
import { splitChunk } from './pipe-output.js';

/** Per lease. A test that prints more than this during an outage loses its oldest output. */
export const BACKLOG_LIMIT_BYTES = 1024 * 1024;

interface Piece {
  stream: Stream;
  data: string;
  bytes: number;
}

interface Held {
  pieces: Piece[];
  bytes: number;
  dropped: number;
}

export function lostNote(bytes: number): string {
  return `\n[keel: ${bytes} bytes of output lost while the dispatcher was unreachable]\n`;
}

export class OutputBacklog {
  private readonly held = new Map<string, Held>();

  constructor(private readonly limitBytes = BACKLOG_LIMIT_BYTES) {}

  get isEmpty(): boolean {
    return this.held.size === 0;
  }

  push(lease: string, stream: Stream, data: string): void {
    if (data === '') return;
    let held = this.held.get(lease);
    if (held === undefined) {
      held = { pieces: [], bytes: 0, dropped: 0 };
      this.held.set(lease, held);
    }
    const bytes = Buffer.byteLength(data);
    held.pieces.push({ stream, data, bytes });
    held.bytes += bytes;
    // Whole pieces only (each at most one pipe read), and never the newest.
    while (held.bytes > this.limitBytes && held.pieces.length > 1) {
      const oldest = held.pieces.shift()!;
      held.bytes -= oldest.bytes;
      held.dropped += oldest.bytes;
    }
  }

  /**
   * Removes and returns everything held, as `output` messages in the order it
   * was produced: per lease, a note of what was dropped first, then the
   * output, with neighbouring pieces of one stream merged into chunks of at
   * most LIMITS.outputChunk. Also returns the dropped byte counts, for the log.
   */
  take(): { messages: Output[]; dropped: Map<string, number> } {
    const messages: Output[] = [];
    const dropped = new Map<string, number>();
    for (const [lease, held] of this.held) {
      if (held.dropped > 0) {
        dropped.set(lease, held.dropped);
        messages.push({ type: 'output', lease, stream: 'stderr', data: lostNote(held.dropped) });
      }
      for (const run of mergeRuns(held.pieces)) {
        for (const data of splitChunk(run.data, LIMITS.outputChunk)) messages.push({ type: 'output', lease, stream: run.stream, data });
      }
    }
    this.held.clear();
    return { messages, dropped };
  }

  /** Drops what is held for `lease`, for a job nobody will want the output of. */
  forget(lease: string): void {
    this.held.delete(lease);
  }
}

function mergeRuns(pieces: Piece[]): { stream: Stream; data: string }[] {
  const runs: { stream: Stream; data: string }[] = [];
  for (const { stream, data } of pieces) {
    const last = runs[runs.length - 1];
    if (last !== undefined && last.stream === stream) last.data += data;
    else runs.push({ stream, data });
  }
  return runs;
}
