// A generator job's stdout, kept as well as streamed: it names the build's
// further jobs, and goes back to the dispatcher in the outcome's `generated`
// (bounded by keel.json's own size limit; past it the run is an error that
// says how much it printed, in keel.json's words).

import { LIMITS } from '../protocol/limits.js';
import type { RunOutcome } from '../protocol/records.js';
import type { OutputSink } from './run-tests.js';

export class GeneratorOutput {
  private readonly pieces: string[] = [];
  private bytes = 0;

  /** `sink`, with stdout kept here as it passes. */
  wrap(sink: OutputSink): OutputSink {
    return {
      write: (stream, data) => {
        if (stream === 'stdout') this.keep(data);
        return sink.write(stream, data);
      },
      onDrain: (listener) => sink.onDrain(listener),
    };
  }

  private keep(data: string): void {
    this.bytes += Buffer.byteLength(data);
    if (this.bytes <= LIMITS.keelJsonBytes) this.pieces.push(data);
  }

  /** The outcome with the generator's stdout in it; a passing run that printed too much is an error. */
  attach(outcome: RunOutcome): RunOutcome {
    if (outcome.status !== 'passed') return outcome;
    if (this.bytes > LIMITS.keelJsonBytes) {
      return {
        ...outcome, status: 'error', infra: false,
        message: `generator output is ${this.bytes} bytes; at most ${LIMITS.keelJsonBytes} (64 KiB) are allowed`,
      };
    }
    return { ...outcome, generated: this.pieces.join('') };
  }
}
