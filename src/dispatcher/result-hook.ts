// The operator's --on-result command, run once for every finished build
// whose result files are written (mail, chat, a deploy): at most
// --on-result-jobs at once, in its own process group, killed (SIGTERM, then
// SIGKILL) past --on-result-timeout. What it prints goes to the dispatcher's
// log, line by line and bounded; how it ended is logged; nothing it does can
// stop the dispatcher. It learns of the build from its environment only, and
// the command is the operator's alone: no repository decides it.

import { spawn } from 'node:child_process';
import { StringDecoder } from 'node:string_decoder';
import { buildUrl } from '../common/build-url.js';
import { escapeControls } from '../common/escape.js';
import type { Log } from '../common/log.js';
import { Slots } from '../common/slots.js';
import { verdictLine } from '../common/verdict.js';
import { LIMITS } from '../protocol/limits.js';
import type { HookItem } from './outbox.js';
import type { HookConfig } from './outputs-config.js';
import type { ResultOf } from './result-store.js';

export interface HookParts {
  hook: HookConfig;
  publicUrl: string | null;
  /** Where a build's <sha>.json is. */
  resultJson(build: ResultOf): string;
  /** Whether hook run `id` is still owed (the outbox may have dropped it past its limit). */
  waiting(id: number): boolean;
  delivered(id: number): void;
  log: Log;
}

/** Between SIGTERM and SIGKILL for a hook past its timeout. */
const KILL_GRACE_MS = 2000;

/** What the hook is told, beside the dispatcher's own environment (without KEEL_*). */
export function hookEnv(base: Readonly<Record<string, string>>, item: HookItem, publicUrl: string | null, resultJson: string): Record<string, string> {
  const { build } = item;
  return {
    ...base,
    KEEL_EVENT: 'finished',
    KEEL_PROJECT: build.project ?? '',
    KEEL_COMMIT: build.commit,
    KEEL_REF: build.ref,
    KEEL_STATUS: build.status,
    KEEL_PREVIOUS_STATUS: item.previous ?? '',
    KEEL_URL: publicUrl === null ? '' : buildUrl(publicUrl, build.project, build.commit),
    KEEL_RESULT_JSON: resultJson,
    KEEL_SUBJECT: build.subject.kind,
    // A land's requests (L-7,L-8) say more than its batch; a patch's id is its request.
    KEEL_REQUEST: build.subject.requests.length > 0 ? build.subject.requests.join(',') : build.subject.request ?? '',
    KEEL_RUN: String(build.run),
    KEEL_SUMMARY: verdictLine(build),
  };
}

export class ResultHooks {
  private readonly slots: Slots;
  private readonly groups = new Set<number>();
  private closed = false;

  constructor(private readonly parts: HookParts) {
    this.slots = new Slots(parts.hook.jobs);
  }

  enqueue(item: HookItem): void {
    void this.slots.run(() => this.run(item));
  }

  /** Stops the hooks running now; those not done run again at the next start. */
  close(): void {
    this.closed = true;
    for (const pid of this.groups) killGroup(pid, 'SIGTERM');
  }

  private run(item: HookItem): Promise<void> {
    if (this.closed || !this.parts.waiting(item.id)) return Promise.resolve();
    const { hook, log } = this.parts;
    const { build } = item;
    const name = `hook for ${build.commit} (${build.status})`;
    const env = hookEnv(hook.env, item, this.parts.publicUrl, this.parts.resultJson(build));
    const started = Date.now();
    return new Promise<void>((resolve) => {
      const child = spawn(hook.argv[0]!, hook.argv.slice(1), { env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
      const output = new HookOutput((line) => log(`${name}: ${line}`));
      child.stdout.on('data', (chunk: Buffer) => output.push('stdout', chunk));
      child.stderr.on('data', (chunk: Buffer) => output.push('stderr', chunk));
      const pid = child.pid;
      if (pid !== undefined) this.groups.add(pid);
      let timedOut = false;
      let killTimer: NodeJS.Timeout | null = null;
      const timer = setTimeout(() => {
        if (pid === undefined) return;
        timedOut = true;
        killGroup(pid, 'SIGTERM');
        killTimer = setTimeout(() => killGroup(pid, 'SIGKILL'), KILL_GRACE_MS);
      }, hook.timeoutMs);
      let ended = false;
      const end = (how: string, ok: boolean) => {
        if (ended) return;
        ended = true;
        clearTimeout(timer);
        if (killTimer) clearTimeout(killTimer);
        if (pid !== undefined) this.groups.delete(pid);
        output.end();
        if (this.closed && !ok) return resolve();
        log(`${name} ${how} in ${Date.now() - started} ms`);
        // Done either way: a failed hook is logged, not run again.
        this.parts.delivered(item.id);
        resolve();
      };
      child.once('error', (error) => end(`could not start: ${error.message}`, false));
      child.once('close', (code, signal) => {
        if (timedOut) return end(`was killed after the timeout of ${hook.timeoutMs / 1000} s`, false);
        if (code === 0) return end('done', true);
        end(code !== null ? `failed: exit code ${code}` : `failed: killed by ${signal}`, false);
      });
    });
  }
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

/** A hook's output as log lines, escaped, up to LIMITS.hookOutputBytes; the rest is counted. */
class HookOutput {
  private readonly partial = { stdout: '', stderr: '' };
  private readonly decoders = { stdout: new StringDecoder('utf8'), stderr: new StringDecoder('utf8') };
  private bytes = 0;
  private dropped = 0;

  constructor(private readonly line: (text: string) => void) {}

  push(stream: 'stdout' | 'stderr', chunk: Buffer): void {
    const room = LIMITS.hookOutputBytes - this.bytes;
    if (room <= 0) {
      this.dropped += chunk.length;
      return;
    }
    const kept = chunk.subarray(0, room);
    this.dropped += chunk.length - kept.length;
    this.bytes += kept.length;
    const lines = (this.partial[stream] + this.decoders[stream].write(kept)).split('\n');
    this.partial[stream] = lines.pop()!;
    for (const text of lines) this.line(escapeControls(text));
  }

  end(): void {
    for (const stream of ['stdout', 'stderr'] as const) {
      if (this.partial[stream] !== '') this.line(escapeControls(this.partial[stream]));
      this.partial[stream] = '';
    }
    if (this.dropped > 0) this.line(`… ${this.dropped} more bytes of output not logged`);
    this.dropped = 0;
  }
}
