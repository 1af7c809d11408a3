// Runs tests/integration/*.test.ts: the tests that need root or packages
// from apt (a size-limited tmpfs for full disks, Chromium, openssh-server and
// gitolite3). Each test says in one line why it did not run when what it
// needs is missing. .ci/run installs what they need first (scripts/ci-install.sh).
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

const dir = 'tests/integration';
const files = readdirSync(dir).filter((name) => name.endsWith('.test.ts')).sort().map((name) => join(dir, name));
if (files.length === 0) {
  console.log('no integration tests');
  process.exit(0);
}
const result = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-concurrency=2', '--test-timeout=300000', ...files],
  { stdio: 'inherit' },
);
process.exit(result.status ?? 1);
