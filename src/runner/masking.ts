// Secrets kept out of a job's output, in the runner, before any byte leaves
// it: every occurrence of a secret's value, and of its base64 and URL
// encodings, becomes `[secret NAME]`. Output comes in chunks, so a value may
// arrive in pieces: each stream keeps back the end of a chunk that could be
// the start of a secret (and nothing else), and lets it go once the next
// chunk shows it is not, or when the stream ends.

import type { RunOutcome } from '../protocol/records.js';
import type { Stream } from '../protocol/messages.js';
import { LIMITS } from '../protocol/limits.js';
import { splitChunk } from './pipe-output.js';
import type { OutputSink } from './run-tests.js';

interface Variant {
  text: string;
  label: string;
}

/** The forms a value may take in output: as it is, base64 (padded or not, standard or URL-safe), URL-encoded. */
function variantsOf(name: string, value: string): Variant[] {
  const base64 = Buffer.from(value, 'utf8').toString('base64');
  const forms = new Set([value, base64, base64.replace(/=+$/, ''), Buffer.from(value, 'utf8').toString('base64url'), urlEncoded(value)]);
  return [...forms].filter((text) => text !== '').map((text) => ({ text, label: `[secret ${name}]` }));
}

/** encodeURIComponent, which throws on a lone surrogate (possible in a value from the wire): then the value as it is. */
function urlEncoded(value: string): string {
  try {
    return encodeURIComponent(value);
  } catch {
    return value;
  }
}

export class Masker {
  private readonly variants: Variant[];
  private readonly pattern: RegExp | null;
  private readonly labels = new Map<string, string>();
  private readonly firsts = new Set<string>();
  private readonly longest: number;

  constructor(secrets: Readonly<Record<string, string>>) {
    // Longest first, so a value is masked whole rather than a shorter one inside it.
    this.variants = Object.entries(secrets).flatMap(([name, value]) => variantsOf(name, value)).sort((a, b) => b.text.length - a.text.length);
    for (const { text, label } of this.variants) {
      if (!this.labels.has(text)) this.labels.set(text, label);
      this.firsts.add(text[0]!);
    }
    this.longest = this.variants[0]?.text.length ?? 0;
    this.pattern = this.variants.length === 0 ? null : new RegExp(this.variants.map(({ text }) => text.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&')).join('|'), 'g');
  }

  get active(): boolean {
    return this.pattern !== null;
  }

  /** A whole text, masked. */
  mask(text: string): string {
    return this.pattern === null ? text : text.replace(this.pattern, (found) => this.labels.get(found)!);
  }

  /** A chunk of a stream: what may be sent now, masked, and the end that must wait (a possible secret's start). */
  split(text: string): { ready: string; held: string } {
    if (this.pattern === null) return { ready: text, held: '' };
    let ready = '';
    let last = 0;
    let holdFrom: number | null = null;
    for (const match of text.matchAll(this.pattern)) {
      const at = match.index;
      // At the very end, a longer value may yet continue this one.
      if (this.startsVariant(text, at, match[0].length + 1)) {
        holdFrom = at;
        break;
      }
      ready += text.slice(last, at) + this.labels.get(match[0])!;
      last = at + match[0].length;
    }
    holdFrom ??= this.heldFrom(text, last);
    return { ready: ready + text.slice(last, holdFrom), held: text.slice(holdFrom) };
  }

  /** Where the longest end of `text` after `from` that begins some value (without being one) starts; text.length when none. */
  private heldFrom(text: string, from: number): number {
    for (let at = Math.max(from, text.length - this.longest + 1); at < text.length; at++) {
      if (this.firsts.has(text[at]!) && this.startsVariant(text, at, text.length - at + 1)) return at;
    }
    return text.length;
  }

  /** Whether text[at..] is the start of a variant at least `length` long. */
  private startsVariant(text: string, at: number, length: number): boolean {
    if (text.length - at >= this.longest) return false;
    const rest = text.slice(at);
    return this.variants.some((variant) => variant.text.length >= length && variant.text.startsWith(rest));
  }

  /** `sink` with this masking in front of it; `flush` sends what each stream still holds. */
  wrap(sink: OutputSink): OutputSink & { flush(): void } {
    if (!this.active) return { write: (stream, data) => sink.write(stream, data), onDrain: (listener) => sink.onDrain(listener), flush: () => {} };
    const held: Record<Stream, string> = { stdout: '', stderr: '' };
    // What was held back, and labels longer than their values, can make a piece longer than a chunk may be.
    const send = (stream: Stream, text: string) => {
      let ok = true;
      for (const piece of text === '' ? [] : splitChunk(text, LIMITS.outputChunk)) ok = sink.write(stream, piece) && ok;
      return ok;
    };
    return {
      write: (stream, data) => {
        const { ready, held: rest } = this.split(held[stream] + data);
        held[stream] = rest;
        return send(stream, ready);
      },
      onDrain: (listener) => sink.onDrain(listener),
      flush: () => {
        for (const stream of ['stdout', 'stderr'] as const) {
          const rest = this.mask(held[stream]);
          held[stream] = '';
          send(stream, rest);
        }
      },
    };
  }

  /** The outcome with every text a secret could reach masked (it is spooled, and stored by the dispatcher). */
  maskOutcome(outcome: RunOutcome): RunOutcome {
    if (!this.active) return outcome;
    return {
      ...outcome,
      message: this.mask(outcome.message),
      command: outcome.command.map((item) => this.mask(item)),
      failedTests: outcome.failedTests.map((name) => this.mask(name)),
      junit: outcome.junit === null ? null : this.mask(outcome.junit),
      ...(outcome.generated === undefined ? {} : { generated: this.mask(outcome.generated) }),
    };
  }
}
