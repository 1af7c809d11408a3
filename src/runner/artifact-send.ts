// Sending a result after its artifacts: each file from the spool in pieces
// of LIMITS.artifactChunk (base64 in an `artifact` message, well inside the
// line limit), waiting whenever the socket is full, then the result itself.
// A connection that closes midway stops it; after the reconnect everything
// is sent again from the start (offset 0 starts a file over), so the
// dispatcher never keeps half of one as whole.

import { open } from 'node:fs/promises';
import { join } from 'node:path';
import type { Connection } from '../common/connection.js';
import type { Log } from '../common/log.js';
import { LIMITS } from '../protocol/limits.js';
import type { Result } from '../protocol/messages.js';

/** Resolves when the socket can take more, or the connection is gone. */
function drained(conn: Connection): Promise<void> {
  if (!conn.needsDrain) return Promise.resolve();
  return Promise.race([new Promise<void>((resolve) => conn.onDrain(resolve)), conn.closed.then(() => {})]);
}

export async function sendWithArtifacts(conn: Connection, result: Result, dir: string, log: Log): Promise<void> {
  const { lease } = result;
  const buffer = Buffer.alloc(LIMITS.artifactChunk);
  for (const file of result.outcome.artifacts ?? []) {
    let handle;
    try {
      handle = await open(join(dir, ...file.path.split('/')), 'r');
    } catch (error) {
      // Gone from the spool: the dispatcher notes it did not arrive, and the result still goes.
      log(`lease ${lease}: artifact ${file.path} is not in the spool (${(error as NodeJS.ErrnoException).code})`);
      continue;
    }
    try {
      let offset = 0;
      do {
        const { bytesRead } = await handle.read(buffer, 0, Math.min(buffer.length, file.bytes - offset), offset);
        if (!conn.isOpen) return;
        conn.send({ type: 'artifact', lease, path: file.path, size: file.bytes, offset, data: buffer.subarray(0, bytesRead).toString('base64') });
        offset += bytesRead;
        await drained(conn);
        // A file shorter than it was when copied: stop, the dispatcher sees it incomplete.
        if (bytesRead === 0) break;
      } while (offset < file.bytes);
    } finally {
      await handle.close();
    }
  }
  if (conn.isOpen) conn.send(result);
}
