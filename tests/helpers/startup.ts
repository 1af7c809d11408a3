// Starts a built entry point that is expected to fail before it is up, and
// checks how: exactly one line `keel: <reason>`, no stack, exit 2.
import { strict as assert } from 'node:assert';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { spawnKeel } from './processes.js';
import { tempDir } from './temp.js';

/** A path no folder can be made at: it goes through a regular file. */
export function impossibleFolder(t: TestContext): string {
  const file = join(tempDir(t, 'keel-startup-'), 'a-file');
  writeFileSync(file, '');
  return join(file, 'folder');
}

/** Runs `entry` with `args`, waits for it to exit, and checks it failed to start with one line matching `reason`. */
export async function assertStartFails(t: TestContext, entry: string, args: string[], reason: RegExp): Promise<string> {
  const proc = spawnKeel(t, entry, args);
  const { code, signal } = await proc.exited;
  const output = proc.lines.join('\n');
  assert.deepEqual({ code, signal }, { code: 2, signal: null }, output);
  assert.equal(proc.lines.length, 1, `one line, got:\n${output}`);
  const [line] = proc.lines as [string];
  assert.match(line, /^keel: /);
  assert.match(line.slice('keel: '.length), reason);
  assert.doesNotMatch(line, /\bat .*:\d+:\d+|Error:/, 'no stack or error class');
  return line;
}
