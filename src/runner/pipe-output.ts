// Carries one child's stdout and stderr to an OutputSink: decoded per stream
// so a multi-byte character is never cut, in pieces of at most
// LIMITS.outputChunk, and no faster than the sink takes them. A bounded tail
// of each stream is kept for parseCounts, never the whole output.

import type { ChildProcess } from 'node:child_process';
import { StringDecoder } from 'node:string_decoder';
import { LIMITS } from '../protocol/limits.js';
import { STREAMS, type Stream } from '../protocol/messages.js';
import type { OutputSink } from './run-tests.js';

/** How much of each stream is kept; test summaries are a few lines at the end. */
const TAIL_CHARS = 64 * 1024;

/** Keeps the last TAIL_CHARS of a stream, enough to hold a test summary. */
export class Tail {
  text = '';

  push(piece: string): void {
    this.text += piece;
    // Trim only now and then, so appending stays cheap.
    if (this.text.length > 2 * TAIL_CHARS) this.text = this.text.slice(-TAIL_CHARS);
  }
}

export interface Pipes {
  /** Stop forwarding output and keep reading it, whatever the sink says. */
  discard(): void;
  /** Close our ends of the pipes, so 'close' comes even if someone else holds theirs. */
  destroy(): void;
  /**
   * Destroys the pipes, and calls `onCut`, once they have stayed open for
   * `ms` of reading freely. Time the sink holds them back does not count, so
   * output already written is read first, however slow the sink.
   */
  cutAfter(ms: number, onCut: () => void): void;
}

/**
 * Forwards the child's stdout and stderr to `sink`, honouring its
 * back-pressure. Reads in paused mode ('readable' + read()) rather than with
 * pause()/resume(): when the child exits, Node resumes any stdio stream that
 * has no 'readable' listener, which would flood a sink that asked us to wait.
 */
export function pipeOutput(child: ChildProcess, sink: OutputSink, tails: Record<Stream, Tail>): Pipes {
  let waiting = false;
  let discarding = false;
  let closed = false;
  let cut: { ms: number; onCut: () => void; timer: NodeJS.Timeout | null } | null = null;
  const pumps: (() => void)[] = [];
  const destroy = () => {
    for (const stream of STREAMS) child[stream]!.destroy();
  };
  // The cut's clock runs only while reading is free: stopped when the sink says wait, restarted when it drains.
  const armCut = () => {
    if (cut === null || cut.timer !== null || waiting || closed) return;
    const pending = cut;
    pending.timer = setTimeout(() => {
      pending.timer = null;
      if (waiting || closed) return;
      destroy();
      pending.onCut();
    }, pending.ms);
  };
  const stopCut = () => {
    if (cut?.timer) clearTimeout(cut.timer);
    if (cut) cut.timer = null;
  };
  child.once('close', () => {
    closed = true;
    stopCut();
  });
  const resume = () => {
    waiting = false;
    for (const pump of pumps) pump();
    armCut();
  };
  const forward = (stream: Stream, text: string) => {
    if (text === '') return;
    tails[stream].push(text);
    if (discarding) return;
    let ok = true;
    for (const chunk of splitChunk(text, LIMITS.outputChunk)) ok = sink.write(stream, chunk) && ok;
    if (ok || waiting) return;
    waiting = true;
    stopCut();
    sink.onDrain(() => {
      if (waiting) resume();
    });
  };
  for (const stream of STREAMS) {
    const decoder = new StringDecoder('utf8');
    const readable = child[stream]!;
    const pump = () => {
      for (let data: Buffer | null; !waiting && (data = readable.read() as Buffer | null) !== null; ) {
        forward(stream, decoder.write(data));
      }
    };
    pumps.push(pump);
    readable.on('readable', pump);
    readable.on('end', () => forward(stream, decoder.end()));
  }
  return {
    discard() {
      discarding = true;
      resume();
    },
    destroy,
    cutAfter(ms, onCut) {
      if (cut !== null) return;
      cut = { ms, onCut, timer: null };
      armCut();
    },
  };
}

/**
 * Cuts `text` into pieces of at most `max` UTF-16 code units, never between
 * the two halves of a surrogate pair (for any `max` of 2 or more).
 */
export function splitChunk(text: string, max: number): string[] {
  if (text.length <= max) return [text];
  const chunks: string[] = [];
  for (let start = 0; start < text.length; ) {
    let end = Math.min(start + max, text.length);
    const lastUnit = text.charCodeAt(end - 1);
    if (end < text.length && lastUnit >= 0xd800 && lastUnit <= 0xdbff && end - 1 > start) end -= 1;
    chunks.push(text.slice(start, end));
    start = end;
  }
  return chunks;
}
