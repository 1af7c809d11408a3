// /api/events: what makes the overview and build pages update themselves.
// An event `changed` is sent when what the page shows may have changed (the
// overview: anything; a build page: that build's summary), at most once
// per second per page however busy the dispatcher is; the page then fetches
// itself again and swaps its <main>. Nothing of the state travels here.

import type { ServerResponse } from 'node:http';
import { PUSH } from '../../protocol/records.js';
import { summarise } from '../queries.js';
import { buildKey } from '../records.js';
import type { Site } from './site.js';
import { EventStream } from './sse.js';

const AT_MOST_EVERY_MS = 1000;

export async function pageEvents(site: Site, project: string | null, build: string | null, res: ServerResponse): Promise<void> {
  const { changes, lookup } = site.parts;
  const stream = new EventStream(res);
  const key = build === null ? null : buildKey(project, PUSH, build);
  const signature = (): string => {
    if (key === null) return String(changes.version);
    const found = lookup.inMemory(key);
    return found ? JSON.stringify(summarise(found.build, found.unwritten)) : 'gone';
  };
  let shown = signature();
  let last = 0;
  let timer: NodeJS.Timeout | null = null;
  const look = () => {
    timer = null;
    const now = signature();
    if (now === shown) return;
    shown = now;
    last = Date.now();
    stream.send('changed', { version: changes.version });
  };
  const stop = changes.listen(() => {
    timer ??= setTimeout(look, Math.max(0, AT_MOST_EVERY_MS - (Date.now() - last)));
  });
  stream.send('hello', { version: changes.version });
  await stream.closed;
  stop();
  if (timer) clearTimeout(timer);
}
