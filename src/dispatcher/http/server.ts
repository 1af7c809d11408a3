// The status page's HTTP server (node:http): GET and HEAD only, the
// credential checked on every request when --http-auth is set, the URL
// parsed into a route (routes.ts), answers only once the journal holds what
// they would show (refused with 503 while it cannot be written, as `keel
// status` is). Live streams (followed logs, page events) are bounded by
// --http-max-clients and get a keep-alive comment every 15 s. None of this
// touches the dispatcher's TCP port or its work: pages read state in memory.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { trace } from '../../common/log.js';
import { ErrorCode } from '../../protocol/error-codes.js';
import { loadAssets, type Asset } from './assets.js';
import { isAuthorised } from './auth.js';
import { handleArtifact, type ArtifactRoute } from './artifact-handler.js';
import { handleLog, type LogRoute } from './log-handlers.js';
import { handlePage, type PageRoute } from './page-handlers.js';
import { pageEvents } from './page-events.js';
import { send, sendError, SECURITY_HEADERS, TYPES } from './respond.js';
import { parseRequest, type Request } from './routes.js';
import { Site, type SiteParts } from './site.js';

const KEEP_ALIVE_MS = 15_000;
const STREAMS = new Set(['follow-log', 'events']);

export class StatusPage {
  private readonly server: Server;
  private readonly site: Site;
  private readonly assets: Map<string, Asset>;
  private readonly streams = new Set<ServerResponse>();
  private readonly sockets = new Set<Socket>();
  private readonly keepAlive: NodeJS.Timeout;

  private constructor(private readonly parts: SiteParts) {
    this.site = new Site(parts);
    this.assets = loadAssets();
    this.server = createServer((req, res) => void this.handle(req, res));
    this.server.maxConnections = 2 * parts.config.maxClients + 64;
    this.server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    });
    this.server.on('clientError', (_error, socket: Socket) => socket.destroy());
    this.keepAlive = setInterval(() => {
      for (const res of this.streams) if (!res.destroyed) res.write(': keep-alive\n\n');
    }, KEEP_ALIVE_MS);
    this.keepAlive.unref();
  }

  static async start(parts: SiteParts): Promise<{ page: StatusPage; host: string; port: number }> {
    const page = new StatusPage(parts);
    const { host, port } = parts.config;
    await new Promise<void>((resolve, reject) => {
      page.server.once('error', reject);
      page.server.listen(port, host, () => {
        page.server.off('error', reject);
        resolve();
      });
    });
    const address = page.server.address();
    return { page, host, port: typeof address === 'object' && address ? address.port : port };
  }

  /** Live streams served now. */
  get clients(): number {
    return this.streams.size;
  }

  async close(): Promise<void> {
    clearInterval(this.keepAlive);
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const socket of this.sockets) socket.destroy();
    await closed;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const head = req.method === 'HEAD';
    if (req.method !== 'GET' && !head) return sendError(res, 405, 'The status page only reads: GET and HEAD.', false, false, { Allow: 'GET, HEAD' });
    const { token } = this.parts.config;
    if (token !== null && !isAuthorised(req.headers.authorization, token)) {
      return sendError(res, 401, 'This status page needs the client token (keel token client) as the password.', false, head, { 'WWW-Authenticate': 'Basic realm="Keel", charset="UTF-8"' });
    }
    const parsed = parseRequest(req.url ?? '/');
    const json = (req.url ?? '').startsWith('/api/');
    if (!parsed.ok) return sendError(res, parsed.status, parsed.message, json, head);
    const { request } = parsed;
    if (request.route.kind === 'asset') return this.sendAsset(req, res, request.route.name, head);
    const { journal } = this.parts;
    if (journal.stalled) {
      return send(res, 503, TYPES.json, `${JSON.stringify({ error: 503, code: ErrorCode.journalStalled, message: `the dispatcher cannot write its journal (${journal.stalled.message})` })}\n`, head, { 'Retry-After': 5 });
    }
    try {
      await journal.synced();
      await this.route(request, req, res, head);
    } catch (error) {
      this.parts.log(`status page: ${req.url} failed: ${(error as Error).message}`);
      trace('%s', (error as Error).stack);
      if (!res.headersSent) sendError(res, 500, 'Something went wrong on the dispatcher; it says what in its log.', json, head);
      else res.destroy();
    }
  }

  private async route(request: Request, req: IncomingMessage, res: ServerResponse, head: boolean): Promise<void> {
    const { route } = request;
    if (!STREAMS.has(route.kind) || head) {
      if (route.kind === 'follow-log' || route.kind === 'events') return send(res, 200, TYPES.events, '', true);
      if (route.kind === 'raw-log' || route.kind === 'log-outline' || route.kind === 'log-search') return handleLog(this.site, request as Request & { route: LogRoute }, req, res, head);
      if (route.kind === 'artifact') return handleArtifact(this.site, request as Request & { route: ArtifactRoute }, res, head);
      return handlePage(this.site, request as Request & { route: PageRoute }, res, head);
    }
    if (this.streams.size >= this.parts.config.maxClients) {
      return sendError(res, 503, `This status page serves ${this.parts.config.maxClients} live streams at most (--http-max-clients); try again soon.`, true, false, { 'Retry-After': 5 });
    }
    this.streams.add(res);
    res.once('close', () => this.streams.delete(res));
    if (route.kind === 'events') return pageEvents(this.site, request.project, route.build, res);
    return handleLog(this.site, request as Request & { route: LogRoute }, req, res, false);
  }

  private sendAsset(req: IncomingMessage, res: ServerResponse, name: string, head: boolean): void {
    const asset = this.assets.get(name);
    if (!asset) return sendError(res, 404, 'No such file.', false, head);
    if (req.headers['if-none-match'] === asset.etag) {
      res.writeHead(304, { ...SECURITY_HEADERS, ETag: asset.etag });
      return void res.end();
    }
    send(res, 200, asset.type, asset.body, head, { 'Cache-Control': 'no-cache', ETag: asset.etag });
  }
}
