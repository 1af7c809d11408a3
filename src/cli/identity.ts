// Who a command connects as. A read-only command (status, notify) is a
// client, unless its secret is an admin's: an admin may do what a client
// may, so it connects as that admin rather than failing with "this token is
// for the admin role, not client". An admin command acts as --as, else the
// admin named in its token, else the owner (target.ts's adminName).

import type { Secret } from '../common/auth.js';
import { adminName, type Target } from './target.js';

export interface Identity {
  role: 'client' | 'admin';
  name: string;
}

/** The client name a read-only command says in hello. */
const CLIENT_NAME = 'keel-cli';

export function readerIdentity(secret: Secret | null): Identity {
  if (secret?.kind === 'role' && secret.role === 'admin') return { role: 'admin', name: secret.name ?? 'owner' };
  return { role: 'client', name: CLIENT_NAME };
}

export function adminIdentity(target: Target, as: string | undefined): Identity {
  return { role: 'admin', name: adminName(as, target) };
}
