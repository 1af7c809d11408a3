// How the outbox's items are checked when the journal's snapshot is read
// back: with the wire's own field readers, like every other record.

import { int, list, nullable, object, oneOf, text, type Fields } from '../protocol/fields.js';
import { LIMITS } from '../protocol/limits.js';
import { buildSummary, commitId, jobSummary, plainName, repoUrl } from '../protocol/record-fields.js';
import { BUILD_STATUSES } from '../protocol/records.js';
import { FORGE_STATES, type EventItem, type HookItem, type StatusItem } from './outbox.js';
import type { OutboxSnapshot } from './state.js';

const MAX_INT = Number.MAX_SAFE_INTEGER;
export const itemId = (o: Fields, f: string) => int(o, f, 1, MAX_INT);

function statusItem(o: Fields, f: string): StatusItem {
  const s = object(o, f);
  return {
    id: itemId(s, 'id'), project: nullable(s, 'project', plainName), repo: repoUrl(s, 'repo'), commit: commitId(s, 'commit'),
    job: nullable(s, 'job', plainName), state: oneOf(s, 'state', FORGE_STATES), description: text(s, 'description', LIMITS.forgeDescription),
  };
}

function eventItem(o: Fields, f: string): EventItem {
  const e = object(o, f);
  return { id: itemId(e, 'id'), build: buildSummary(e, 'build'), jobs: list(e, 'jobs', LIMITS.jobsPerBuild, jobSummary) };
}

function hookItem(o: Fields, f: string): HookItem {
  const h = object(o, f);
  return { id: itemId(h, 'id'), build: buildSummary(h, 'build'), previous: nullable(h, 'previous', (x, k) => oneOf(x, k, BUILD_STATUSES)) };
}

export function readOutbox(o: Fields, f: string): OutboxSnapshot {
  const b = object(o, f);
  return {
    next: itemId(b, 'next'),
    statuses: list(b, 'statuses', MAX_INT, statusItem),
    events: list(b, 'events', MAX_INT, eventItem),
    hooks: list(b, 'hooks', MAX_INT, hookItem),
    verdicts: list(b, 'verdicts', MAX_INT, (x, k) => {
      const v = object(x, k);
      return { branch: text(v, 'branch', 2 * 1024 + LIMITS.name), status: oneOf(v, 'status', BUILD_STATUSES) };
    }),
  };
}
