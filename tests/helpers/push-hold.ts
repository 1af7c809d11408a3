// A hook on the central repository that holds pushes of matching refs (in
// pre-receive, before they are taken; or in post-receive, after) until the
// test lets them go: a way to stop the observer's git work at a chosen point.
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface PushHold {
  /** Waits until a push is being held. */
  held(): Promise<void>;
  release(): void;
}

type Until = <T>(check: () => T | Promise<T>, what: string) => Promise<NonNullable<T>>;

export function holdPushes(central: string, control: string, until: Until, pattern: string, { after = false } = {}): PushHold {
  const hold = join(control, 'hold-hook');
  const held = join(control, 'held-hook');
  writeFileSync(hold, '');
  const hook = [
    '#!/bin/sh',
    'while read old new ref; do',
    `  case "$ref" in ${pattern})`,
    `    if [ -e '${hold}' ]; then touch '${held}'; while [ -e '${hold}' ]; do sleep 0.05; done; fi ;;`,
    '  esac',
    'done',
    'exit 0',
    '',
  ].join('\n');
  writeFileSync(join(central, 'hooks', after ? 'post-receive' : 'pre-receive'), hook, { mode: 0o755 });
  return {
    held: async () => void (await until(() => existsSync(held), 'a push to be held by the hook')),
    release: () => rmSync(hold, { force: true }),
  };
}
