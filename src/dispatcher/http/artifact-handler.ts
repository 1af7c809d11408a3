// A kept artifact file over HTTP, as a download: only a file the job's
// record lists (ArtifactStore.fileOf), opened without following a link,
// sent as application/octet-stream with Content-Disposition: attachment and
// a sandboxing CSP, so a file a repository made (an .html, an .svg) is
// never rendered in the page's origin.

import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import { pipeBody, SECURITY_HEADERS, sendError } from './respond.js';
import type { Request, Route } from './routes.js';
import type { Site } from './site.js';

export type ArtifactRoute = Extract<Route, { kind: 'artifact' }>;

/** The file's own name for the download, when it is plain; else a neutral one. */
function downloadName(path: string): string {
  const name = path.split('/').at(-1)!;
  return /^[A-Za-z0-9._-]{1,100}$/.test(name) ? name : 'artifact';
}

export async function handleArtifact(site: Site, request: Request & { route: ArtifactRoute }, res: ServerResponse, head: boolean): Promise<void> {
  const { route, project } = request;
  const found = await site.parts.lookup.find(project, route.commit);
  const job = found?.build.jobs.find((j) => j.name === route.job);
  const path = found && job ? site.parts.artifacts.fileOf(found.build, job, route.path) : null;
  const missing = () => sendError(res, 404, `No artifact ${route.path} of job ${route.job} of ${route.commit} is kept.`, false, head);
  if (path === null) return missing();
  let handle;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch {
    return missing();
  }
  try {
    const info = await handle.stat();
    if (!info.isFile()) return missing();
    res.writeHead(200, {
      ...SECURITY_HEADERS, 'Content-Security-Policy': "sandbox; default-src 'none'", 'Cache-Control': 'no-store',
      'Content-Type': 'application/octet-stream', 'Content-Length': info.size,
      'Content-Disposition': `attachment; filename="${downloadName(route.path)}"`,
    });
    if (head) return void res.end();
    await pipeBody(handle.createReadStream({ autoClose: false }), res);
  } finally {
    await handle.close();
  }
}
