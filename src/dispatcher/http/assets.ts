// The page's stylesheet and scripts: plain files in web/ at the package's
// root, read once when the dispatcher starts and served from memory with an
// ETag. Only the names in the table are served; nothing of a URL ever
// reaches the file system.

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { TYPES } from './respond.js';

/** From src/dispatcher/http or dist/dispatcher/http, the package root is three folders up. */
const WEB = fileURLToPath(new URL('../../../web/', import.meta.url));

const FILES = {
  'keel.css': TYPES.css,
  'page.js': TYPES.js,
  'log-page.js': TYPES.js,
  'log-view.js': TYPES.js,
  'icon.svg': TYPES.svg,
} as const;

export interface Asset {
  type: string;
  body: Buffer;
  etag: string;
}

export function loadAssets(): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  for (const [name, type] of Object.entries(FILES)) {
    const body = readFileSync(`${WEB}${name}`);
    assets.set(name, { type, body, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 16)}"` });
  }
  return assets;
}
