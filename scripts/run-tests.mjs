// Runs every tests/**/*.test.ts with node:test through tsx, but for
// tests/integration, which `--integration` runs instead (they need root or
// apt: see npm run test:integration). Node 20 has no --test globs, so the
// files are listed here. Other arguments narrow the folders or name files.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

const INTEGRATION = join('tests', 'integration');

/** Test files under `dir`, leaving tests/integration out. */
function collect(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return path === INTEGRATION ? [] : collect(path);
    return entry.name.endsWith('.test.ts') ? [path] : [];
  });
}

const args = process.argv.slice(2);
const integration = args.includes('--integration');
const roots = args.length > 0 && !integration ? args : ['tests'];
const files = (integration
  ? readdirSync(INTEGRATION).filter((name) => name.endsWith('.test.ts')).map((name) => join(INTEGRATION, name))
  : roots.flatMap((root) => (root.endsWith('.ts') ? [root] : collect(root)))).sort();
if (files.length === 0) {
  console.error('no test files found');
  process.exit(1);
}
const result = spawnSync(
  process.execPath,
  // Integration tests mount file systems and start servers: two at a time, with more time each.
  ['--import', 'tsx', '--test', `--test-concurrency=${integration ? 2 : 4}`, `--test-timeout=${integration ? 300_000 : 120_000}`, ...files],
  { stdio: 'inherit' },
);
process.exit(result.status ?? 1);
