// Writing responses, every one with the same strict headers: a
// Content-Security-Policy that runs only this page's own script files
// (nothing inline, nothing from elsewhere), nosniff so text stays text, no
// framing, no referrer, and no caching of pages that may hold private logs.

import type { ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import { html, type Html } from './html.js';

export const SECURITY_HEADERS = {
  'Content-Security-Policy': "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
  'Cross-Origin-Opener-Policy': 'same-origin',
} as const;

export const TYPES = {
  html: 'text/html; charset=utf-8',
  json: 'application/json; charset=utf-8',
  text: 'text/plain; charset=utf-8',
  svg: 'image/svg+xml; charset=utf-8',
  css: 'text/css; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  events: 'text/event-stream; charset=utf-8',
} as const;

export type Headers = Record<string, string | number>;

/** Status, headers and (unless the request was HEAD) the body. */
export function send(res: ServerResponse, status: number, type: string, body: string | Buffer, head: boolean, headers: Headers = {}): void {
  const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  res.writeHead(status, {
    ...SECURITY_HEADERS, 'Cache-Control': 'no-store', ...headers,
    'Content-Type': type, 'Content-Length': bytes.length,
  });
  res.end(head ? undefined : bytes);
}

export function sendHtml(res: ServerResponse, status: number, page: Html, head: boolean): void {
  send(res, status, TYPES.html, page.text, head);
}

export function sendJson(res: ServerResponse, status: number, value: unknown, head: boolean): void {
  send(res, status, TYPES.json, `${JSON.stringify(value, null, 2)}\n`, head);
}

/** An error as the page or the tool asked for it: a small page, or {error, message} in JSON. */
export function sendError(res: ServerResponse, status: number, message: string, json: boolean, head: boolean, headers: Headers = {}): void {
  if (json) return send(res, status, TYPES.json, `${JSON.stringify({ error: status, message })}\n`, head, headers);
  const page = html`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${status} · Keel</title><link rel="stylesheet" href="/assets/keel.css"><link rel="icon" href="/assets/icon.svg" type="image/svg+xml"></head>
<body><header class="top"><a class="brand" href="/">Keel</a></header><main><h1>${status}</h1><p>${message}</p><p><a href="/">Back to the overview</a></p></main></body></html>
`;
  send(res, status, TYPES.html, page.text, head, headers);
}

/** Sends a file's stream as the body; resolves once the response is closed (sent, or the client gone). */
export function pipeBody(file: Readable, res: ServerResponse): Promise<void> {
  return new Promise<void>((resolve) => {
    file.on('error', () => res.destroy());
    res.once('close', () => {
      file.destroy();
      resolve();
    });
    file.pipe(res);
  });
}
