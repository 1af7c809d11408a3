// Writing a secret to a file only its owner can read (0600, also when the
// file was there before), for `keel token ROLE --out FILE` and `keel admin
// add NAME --out FILE`: a shell's `> FILE` makes it 0644 under the usual
// umask.

import { closeSync, fchmodSync, openSync, writeSync } from 'node:fs';
import { ConfigError } from '../common/errors.js';

export function writeTokenFile(path: string, token: string): void {
  let fd: number;
  try {
    fd = openSync(path, 'w', 0o600);
  } catch (error) {
    throw new ConfigError(`--out must be a file this user can write, got "${path}" (${(error as NodeJS.ErrnoException).code})`);
  }
  try {
    fchmodSync(fd, 0o600);
    writeSync(fd, `${token}\n`);
  } finally {
    closeSync(fd);
  }
}
