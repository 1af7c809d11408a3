// Posts commit statuses to the forge (--forge-status) as the outbox hands
// them over: a few at a time, one at a time per job of a commit so a later
// state is never overtaken by an earlier one, and only the newest state of a
// job (the outbox replaces one not yet posted). A forge that is down, slow
// or broken (a network error, no answer within --forge-timeout, a 5xx, 429)
// pauses posting with backoff and the status waits in the journal; a forge
// that refuses one (another 4xx) is logged once per reason with what it
// said, and that status is given up. Nothing here holds up a build: the
// scheduler never waits for the forge.

import { backoffDelay } from '../common/backoff.js';
import { trace, type Log } from '../common/log.js';
import { LIMITS } from '../protocol/limits.js';
import { answeredState, contextOf, forgeMessage, isRetryable, repoFor, statusRequest } from './forge-api.js';
import { targetOf, type StatusItem } from './outbox.js';
import type { ForgeConfig } from './outputs-config.js';

export interface PosterParts {
  forge: ForgeConfig;
  publicUrl: string | null;
  /** Whether item `id` still waits: not posted, and not replaced by a newer state of its job. */
  waiting(id: number): boolean;
  delivered(id: number): void;
  log: Log;
}

const CONCURRENT_POSTS = 4;
const RETRY = { baseMs: 500, capMs: 60_000 };
const MAX_ANSWER_BYTES = LIMITS.forgeAnswerBytes;

export class ForgePoster {
  private readonly queue: StatusItem[] = [];
  /** Targets (a job of a commit) with a post on its way. */
  private readonly posting = new Set<string>();
  private readonly controllers = new Set<AbortController>();
  private failures = 0;
  private pause: NodeJS.Timeout | null = null;
  /** Refusals and unknown repositories already logged. */
  private readonly said = new Set<string>();
  private closed = false;

  constructor(private readonly parts: PosterParts) {}

  enqueue(item: StatusItem): void {
    this.queue.push(item);
    // While the forge is away the queue only grows; what newer states replaced can go.
    if (this.queue.length > 2 * LIMITS.outboxStatuses) this.queue.splice(0, this.queue.length, ...this.queue.filter((queued) => this.parts.waiting(queued.id)));
    this.next();
  }

  /** Stops posting; what was not posted stays in the journal for the next start. */
  close(): void {
    this.closed = true;
    if (this.pause) clearTimeout(this.pause);
    for (const controller of this.controllers) controller.abort();
  }

  private next(): void {
    for (let i = 0; i < this.queue.length && this.posting.size < CONCURRENT_POSTS && !this.closed && this.pause === null;) {
      const item = this.queue[i]!;
      if (!this.parts.waiting(item.id)) {
        this.queue.splice(i, 1);
        continue;
      }
      const target = targetOf(item);
      if (this.posting.has(target)) {
        i += 1;
        continue;
      }
      this.queue.splice(i, 1);
      this.posting.add(target);
      void this.post(item).finally(() => {
        this.posting.delete(target);
        this.next();
      });
    }
  }

  private async post(item: StatusItem): Promise<void> {
    const { forge } = this.parts;
    const repo = repoFor(forge, item);
    if (repo === null) {
      this.once(`repo ${item.repo}`, `forge: cannot tell the forge repository of ${item.repo}; give --forge-repo OWNER/REPO: its statuses are not posted`);
      return this.parts.delivered(item.id);
    }
    const request = statusRequest(forge, repo, item, this.parts.publicUrl);
    const controller = new AbortController();
    this.controllers.add(controller);
    const timer = setTimeout(() => controller.abort(), forge.timeoutMs);
    let answer: { status: number; text: string };
    try {
      const response = await fetch(request.url, { method: 'POST', headers: request.headers, body: request.body, signal: controller.signal });
      answer = { status: response.status, text: await readSome(response) };
    } catch (error) {
      if (this.closed) return;
      const why = controller.signal.aborted ? `no answer within ${forge.timeoutMs / 1000} s` : (error as Error).message;
      return this.later(item, `${why}${causeOf(error)}`);
    } finally {
      clearTimeout(timer);
      this.controllers.delete(controller);
    }
    const what = `${contextOf(item)} ${item.state} of ${item.commit} on ${repo}`;
    if (answer.status >= 200 && answer.status < 300) {
      this.recovered();
      const said = answeredState(parseJson(answer.text));
      if (said !== null && said !== item.state) this.once(`said ${said} ${item.state}`, `forge: posted ${item.state} and the forge recorded ${said} (${what})`);
      trace('forge: posted %s', what);
      return this.parts.delivered(item.id);
    }
    const message = forgeMessage(answer.text);
    if (isRetryable(answer.status)) return this.later(item, `HTTP ${answer.status}${message ? `: ${message}` : ''}`);
    // Not tried again: the same request would be refused again.
    this.once(`refused ${answer.status} ${message}`, `forge: refused a status with HTTP ${answer.status}${message ? `: ${message}` : ''} (${what}); such statuses are not posted`);
    this.parts.delivered(item.id);
  }

  /** The forge could not take it now: back to the front of the queue, and posting pauses with backoff. */
  private later(item: StatusItem, why: string): void {
    this.queue.unshift(item);
    if (this.pause !== null || this.closed) return;
    const delay = backoffDelay(this.failures, RETRY);
    if (this.failures === 0) this.parts.log(`forge: cannot post statuses to ${this.parts.forge.api} (${why}); trying again with backoff, builds go on`);
    this.failures += 1;
    this.pause = setTimeout(() => {
      this.pause = null;
      this.next();
    }, delay);
  }

  private recovered(): void {
    if (this.failures === 0) return;
    this.failures = 0;
    this.parts.log(`forge: statuses are posted again`);
  }

  private once(key: string, line: string): void {
    if (this.said.has(key)) return;
    this.said.add(key);
    this.parts.log(line);
  }
}

/** The start of an answer's body, at most MAX_ANSWER_BYTES of it. */
async function readSome(response: Response): Promise<string> {
  if (response.body === null) return '';
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    size += value.length;
    if (size >= MAX_ANSWER_BYTES) {
      await reader.cancel();
      break;
    }
  }
  return Buffer.concat(chunks).subarray(0, MAX_ANSWER_BYTES).toString('utf8');
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return null;
  }
}

/** fetch's own message is "fetch failed"; the reason (ECONNREFUSED, …) is in its cause. */
function causeOf(error: unknown): string {
  const cause = (error as { cause?: { code?: unknown; message?: unknown } }).cause;
  if (cause === undefined) return '';
  return ` (${typeof cause.code === 'string' ? cause.code : String(cause.message)})`;
}
