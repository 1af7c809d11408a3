import { open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** Temp names only need to differ between writes of this process, and process.pid between processes. */
let writes = 0;

/**
 * Writes a file so that readers see the old content or the whole new one,
 * never a part: temp file in the same folder, fsync, rename.
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  writes += 1;
  const temp = join(dirname(path), `.${basename(path)}.${process.pid}.${writes}.tmp`);
  const handle = await open(temp, 'w', 0o644);
  try {
    await handle.writeFile(data);
    await handle.sync();
  } catch (error) {
    await handle.close().catch(() => {});
    await unlink(temp).catch(() => {});
    throw error;
  }
  await handle.close();
  try {
    await rename(temp, path);
  } catch (error) {
    await unlink(temp).catch(() => {});
    throw error;
  }
}
