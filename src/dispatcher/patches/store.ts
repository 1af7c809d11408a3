// The bytes of every version of every patch, under the dispatcher's --state
// (patches/<id>/v<version>.patch): written whole and synced, folder too,
// before the patch is journaled, and read back in chunks by the observer
// that applies it.

import { mkdir, open } from 'node:fs/promises';
import { join } from 'node:path';
import { syncFolder, writeFileAtomic } from '../../common/atomic-write.js';
import { LIMITS } from '../../protocol/limits.js';
import { isRequestId } from '../../protocol/validate.js';

export class PatchStore {
  constructor(private readonly root: string) {}

  private folder(id: string): string {
    if (!isRequestId(id)) throw new Error(`refusing a patch folder for ${JSON.stringify(id)}`);
    return join(this.root, 'patches', id);
  }

  private path(id: string, version: number): string {
    return join(this.folder(id), `v${version}.patch`);
  }

  /** Resolves once the bytes are on disk to stay. */
  async keep(id: string, version: number, bytes: Buffer): Promise<void> {
    const folder = this.folder(id);
    await mkdir(folder, { recursive: true });
    await writeFileAtomic(this.path(id, version), bytes);
    await syncFolder(folder);
    await syncFolder(join(this.root, 'patches'));
  }

  /** Up to a chunk of the bytes from `offset`; `end` when nothing follows. */
  async read(id: string, version: number, offset: number): Promise<{ data: Buffer; end: boolean }> {
    const handle = await open(this.path(id, version), 'r');
    try {
      const { size } = await handle.stat();
      const data = Buffer.alloc(Math.max(0, Math.min(LIMITS.patchChunk, size - offset)));
      const { bytesRead } = await handle.read(data, 0, data.length, offset);
      return { data: data.subarray(0, bytesRead), end: offset + bytesRead >= size };
    } finally {
      await handle.close();
    }
  }

}
