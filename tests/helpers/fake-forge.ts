// A forge's commit-status API in the test, on 127.0.0.1 port 0: it keeps
// every request (method, path, headers, parsed body) and answers as the
// test says — 201 with Gitea's answer by default, any status, or never.
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { TestContext } from 'node:test';
import { waitFor } from './temp.js';

export interface ForgeRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: Record<string, unknown>;
}

/** What to answer request number `n` (0-based): a status and a JSON body, or 'hang' to never answer. */
export type Answer = (request: ForgeRequest, n: number) => { status: number; body: unknown } | 'hang';

/** What Gitea answers a created status: the state under `status`. */
export const giteaAnswer: Answer = (request) => ({
  status: 201,
  body: { id: 1, status: request.body.state, context: request.body.context, description: request.body.description, target_url: request.body.target_url },
});

export interface FakeForge {
  url: string;
  requests: ForgeRequest[];
  /** Replaced by the test as it goes. */
  answer: Answer;
  /** Waits until a request matching `check` has arrived; returns it. */
  waitForRequest(check: (request: ForgeRequest) => boolean, what: string, timeoutMs?: number): Promise<ForgeRequest>;
}

export async function startFakeForge(t: TestContext, answer: Answer = giteaAnswer): Promise<FakeForge> {
  const hanging = new Set<ServerResponse>();
  const forge: FakeForge = {
    url: '',
    requests: [],
    answer,
    waitForRequest: (check, what, timeoutMs = 20_000) => waitFor(() => forge.requests.find(check), what, timeoutMs),
  };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      let body: Record<string, unknown> = {};
      try {
        body = JSON.parse(text) as Record<string, unknown>;
      } catch {
        body = { unparsed: text };
      }
      const request = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, body };
      const n = forge.requests.length;
      forge.requests.push(request);
      const reply = forge.answer(request, n);
      if (reply === 'hang') {
        hanging.add(res);
        return;
      }
      res.writeHead(reply.status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(reply.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  t.after(() => new Promise<void>((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  }));
  forge.url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  return forge;
}
