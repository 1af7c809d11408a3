// The names allowed to act as admin (cancel, land, manage this list), one per
// line in a small file an owner can edit by hand or through `keel admin`.

import { readFileSync } from 'node:fs';
import { writeFileAtomic } from '../common/atomic-write.js';
import { isName } from '../protocol/validate.js';

export class AdminList {
  private names: Set<string>;

  constructor(private readonly path: string) {
    this.names = new Set(readNames(path));
  }

  has(name: string): boolean {
    return this.names.has(name);
  }

  list(): string[] {
    return [...this.names].sort();
  }

  async add(name: string): Promise<void> {
    this.names.add(name);
    await this.save();
  }

  async remove(name: string): Promise<void> {
    this.names.delete(name);
    await this.save();
  }

  private save(): Promise<void> {
    return writeFileAtomic(this.path, this.list().map((name) => `${name}\n`).join(''));
  }
}

/** Blank lines and # comments are ignored; a line that is not a plain name is an error. */
function readNames(path: string): string[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new Error(`cannot read the admin list ${path}: ${(error as Error).message}`);
  }
  return text.split('\n').map((line) => line.replace(/#.*/, '').trim()).filter((line, i) => {
    if (line === '') return false;
    if (!isName(line)) throw new Error(`${path}:${i + 1}: "${line}" is not a valid admin name`);
    return true;
  });
}
