// The README badge: the usual two-part SVG, `keel | passing`, coloured by
// the branch's last finished build; `unknown` in grey for a branch with
// none on record. Text is escaped like any page's, though it is only ever
// one of the words below.

import type { BuildStatus } from '../../protocol/records.js';
import { html, type Html } from './html.js';

export type BadgeState = BuildStatus | 'unknown';

const LOOK: Record<BadgeState, { word: string; colour: string }> = {
  passed: { word: 'passing', colour: '#2e7d32' },
  failed: { word: 'failing', colour: '#c62828' },
  error: { word: 'error', colour: '#e65100' },
  cancelled: { word: 'cancelled', colour: '#757575' },
  skipped: { word: 'skipped', colour: '#757575' },
  running: { word: 'running', colour: '#1565c0' },
  queued: { word: 'queued', colour: '#1565c0' },
  unknown: { word: 'unknown', colour: '#9e9e9e' },
};

/** Roughly Verdana 11px: wide enough for every word above. */
const textWidth = (text: string) => Math.round(text.length * 6.6 + 10);

export function renderBadge(state: BadgeState, label = 'keel'): Html {
  const { word, colour } = LOOK[state];
  const left = textWidth(label);
  const right = textWidth(word);
  const width = left + right;
  return html`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="20" role="img" aria-label="${label}: ${word}">
<title>${label}: ${word}</title>
<linearGradient id="s" x2="0" y2="100%"><stop offset="0" stop-color="#bbb" stop-opacity=".1"/><stop offset="1" stop-opacity=".1"/></linearGradient>
<clipPath id="r"><rect width="${width}" height="20" rx="3" fill="#fff"/></clipPath>
<g clip-path="url(#r)"><rect width="${left}" height="20" fill="#555"/><rect x="${left}" width="${right}" height="20" fill="${colour}"/><rect width="${width}" height="20" fill="url(#s)"/></g>
<g fill="#fff" text-anchor="middle" font-family="Verdana,Geneva,DejaVu Sans,sans-serif" font-size="11">
<text x="${left / 2}" y="15" fill="#010101" fill-opacity=".3">${label}</text><text x="${left / 2}" y="14">${label}</text>
<text x="${left + right / 2}" y="15" fill="#010101" fill-opacity=".3">${word}</text><text x="${left + right / 2}" y="14">${word}</text>
</g></svg>
`;
}
