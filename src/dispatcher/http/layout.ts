// The frame every page shares: one stylesheet and at most one script file,
// both from /assets (the Content-Security-Policy allows nothing else), and
// the data a script needs as attributes on <body>, never as inline script.

import { html, type Html } from './html.js';
import type { Links } from './links.js';

export interface PageOptions {
  title: string;
  links: Links;
  body: Html;
  /** The page's script under /assets, if it has one. */
  script?: 'page.js' | 'log-page.js';
  /** data-* attributes on <body> for the script (names without the prefix). */
  data?: Record<string, string>;
}

export function layout({ title, links, body, script, data = {} }: PageOptions): Html {
  const attributes = Object.entries(data).map(([name, value]) => html` data-${name}="${value}"`);
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · Keel</title>
<link rel="stylesheet" href="/assets/keel.css">
<link rel="icon" href="/assets/icon.svg" type="image/svg+xml">
${script ? html`<script type="module" src="/assets/${script}"></script>` : ''}
</head>
<body${attributes}>
<header class="top"><a class="brand" href="${links.overview()}">Keel</a>${links.project === null ? '' : html` <span class="project">project ${links.project}</span>`}</header>
<main id="main">
${body}
</main>
</body>
</html>
`;
}
