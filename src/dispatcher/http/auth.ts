// Whether a request carries the page's credential: the `keel token client`
// secret, as the password of HTTP Basic (any user name; a browser asks for
// it once) or as `Authorization: Bearer <token>` (for tools). Never in the
// URL: a link with a token in it ends up in logs, histories and referrers.
// Compared in constant time, through digests so lengths do not tell either.

import { createHash, timingSafeEqual } from 'node:crypto';

const digest = (text: string) => createHash('sha256').update(text, 'utf8').digest();

/** The secret the Authorization header offers, or null when it offers none this page reads. */
export function offeredSecret(header: string | undefined): string | null {
  if (header === undefined) return null;
  const [scheme, value] = header.trim().split(/\s+/, 2);
  if (!scheme || !value) return null;
  if (scheme.toLowerCase() === 'bearer') return value;
  if (scheme.toLowerCase() !== 'basic') return null;
  const decoded = Buffer.from(value, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon === -1 ? null : decoded.slice(colon + 1);
}

export function isAuthorised(header: string | undefined, token: string): boolean {
  const offered = offeredSecret(header);
  return offered !== null && timingSafeEqual(digest(offered), digest(token));
}
