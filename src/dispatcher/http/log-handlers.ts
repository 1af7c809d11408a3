// A job's log over HTTP: raw (text/plain, with Range for the page's pieces
// of a big log, as a download with ?download=1), followed live as Server-Sent
// Events (each event's id the byte offset just past its text, so an
// EventSource that reconnects with Last-Event-ID resumes exactly there; an
// `end` event with the job's status when it has ended), its outline, and a
// search of the whole log on the server.

import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { BuildRecord, JobRecord } from '../../protocol/records.js';
import { LogFollower } from '../log-follower.js';
import { outlineLog } from './log-outline.js';
import { searchLog } from './log-search.js';
import { parseRange } from './range.js';
import { pipeBody, SECURITY_HEADERS, sendError, sendJson, TYPES } from './respond.js';
import type { Request, Route } from './routes.js';
import type { Site } from './site.js';
import { EventStream } from './sse.js';

export type LogRoute = Extract<Route, { kind: 'raw-log' | 'follow-log' | 'log-outline' | 'log-search' }>;

const SEARCH_MATCHES = 200;
const DEFAULT_JOB = 'tests';

/** The job a log route names: ?job, else `tests`, else the build's only job. */
function jobOf(build: BuildRecord, name: string | null): JobRecord | undefined {
  const wanted = name ?? DEFAULT_JOB;
  return build.jobs.find((job) => job.name === wanted) ?? (name === null && build.jobs.length === 1 ? build.jobs[0] : undefined);
}

async function sizeOf(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch {
    return 0;
  }
}

export async function handleLog(site: Site, request: Request & { route: LogRoute }, req: IncomingMessage, res: ServerResponse, head: boolean): Promise<void> {
  const { route, project } = request;
  const json = route.kind === 'log-outline' || route.kind === 'log-search';
  const found = await site.parts.lookup.find(project, route.commit);
  const job = found ? jobOf(found.build, route.job) : undefined;
  if (!found || !job) return sendError(res, 404, `No job ${route.job ?? DEFAULT_JOB} of ${route.commit} is known.`, json, head);
  const path = site.parts.results.logPath(found.build, job.log);
  switch (route.kind) {
    case 'raw-log': return sendRaw(req, res, path, route.download ? job.log : null, head);
    case 'follow-log': return follow(site, request.project, found.build, job, path, req, res, route.from);
    case 'log-outline': {
      const open = site.parts.logs.live(path);
      const marks = open && open.base !== null
        ? open.log.marks.map((value, i) => (i % 2 === 0 ? value + open.base! : value))
        : site.parts.results.marksOf(found.build, job.log) ?? (await site.parts.results.readLogTimes(found.build))?.[job.name] ?? [];
      return sendJson(res, 200, { job: job.name, status: job.status, ...(await outlineLog(path, await sizeOf(path), marks)) }, head);
    }
    case 'log-search': return sendJson(res, 200, { query: route.query, ...(await searchLog(path, route.query, SEARCH_MATCHES)) }, head);
  }
}

async function sendRaw(req: IncomingMessage, res: ServerResponse, path: string, download: string | null, head: boolean): Promise<void> {
  const size = await sizeOf(path);
  const range = parseRange(req.headers.range, size);
  const headers = {
    ...SECURITY_HEADERS, 'Cache-Control': 'no-store', 'Content-Type': TYPES.text, 'Accept-Ranges': 'bytes',
    'Content-Disposition': download ? `attachment; filename="${download}"` : 'inline',
  };
  if (range.kind === 'unsatisfiable') {
    res.writeHead(416, { ...headers, 'Content-Range': `bytes */${size}`, 'Content-Length': 0 });
    return void res.end();
  }
  const [start, end] = range.kind === 'part' ? [range.start, range.end] : [0, size - 1];
  res.writeHead(range.kind === 'part' ? 206 : 200, {
    ...headers, 'Content-Length': end - start + 1, ...(range.kind === 'part' ? { 'Content-Range': `bytes ${start}-${end}/${size}` } : {}),
  });
  if (head || end < start) return void res.end();
  await pipeBody(createReadStream(path, { start, end }), res);
}

/** Where a reconnecting EventSource left off: its Last-Event-ID, an offset. */
function resumeFrom(req: IncomingMessage, from: number | null): number {
  const last = req.headers['last-event-id'];
  if (typeof last === 'string' && /^\d{1,15}$/.test(last)) return Number(last);
  return from ?? 0;
}

async function follow(site: Site, project: string | null, build: BuildRecord, job: JobRecord, path: string, req: IncomingMessage, res: ServerResponse, from: number | null): Promise<void> {
  const { logs, lookup, changes } = site.parts;
  const stream = new EventStream(res);
  const follower = new LogFollower({ logs, path, ended: lookup.jobEnded(project, build.commit, job.name) }, resumeFrom(req, from), {
    chunk: (offset, data, time) => stream.send('log', { offset, text: data.toString('utf8'), time }, offset + data.length),
    drained: () => stream.drained(),
  });
  const stopListening = changes.listen(() => follower.wake());
  void stream.closed.then(() => follower.stop());
  try {
    const status = await follower.run();
    if (status !== null) stream.send('end', { job: job.name, status, offset: follower.offset }, follower.offset);
  } catch {
    // The receiver went away or was too slow: it was dropped, and resumes from its Last-Event-ID.
  } finally {
    stopListening();
    stream.end();
  }
}
