import { basename, dirname, join } from 'node:path';
import { closeFile, openFile, removeFile, renameFile, syncFile, writeAll } from './fs-calls.js';

/** Temp names only need to differ between writes of this process, and process.pid between processes. */
let writes = 0;

/**
 * Writes a file so that readers see the old content or the whole new one,
 * never a part: temp file in the same folder, fsync, rename.
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  writes += 1;
  const temp = join(dirname(path), `.${basename(path)}.${process.pid}.${writes}.tmp`);
  const fd = await openFile(temp, 'w', 0o644);
  try {
    await writeAll(fd, typeof data === 'string' ? Buffer.from(data) : data);
    await syncFile(fd);
  } catch (error) {
    await closeFile(fd).catch(() => {});
    await removeFile(temp).catch(() => {});
    throw error;
  }
  await closeFile(fd);
  try {
    await renameFile(temp, path);
  } catch (error) {
    await removeFile(temp).catch(() => {});
    throw error;
  }
}

/** Makes the names in a folder durable (a file created or renamed there survives a crash), where the system allows it. */
export async function syncFolder(path: string): Promise<void> {
  const fd = await openFile(path, 'r');
  try {
    await syncFile(fd);
  } finally {
    await closeFile(fd);
  }
}
