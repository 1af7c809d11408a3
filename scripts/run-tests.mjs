// Runs every tests/**/*.test.ts with node:test through tsx, but for
// tests/integration (npm run test:integration: they need root or apt). Node
// 20 has no --test globs, so the files are listed here. Arguments narrow the
// folders.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

function collect(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return path === join('tests', 'integration') ? [] : collect(path);
    return entry.name.endsWith('.test.ts') ? [path] : [];
  });
}

const roots = process.argv.slice(2);
const files = (roots.length > 0 ? roots : ['tests']).flatMap((root) => (root.endsWith('.ts') ? [root] : collect(root))).sort();
if (files.length === 0) {
  console.error('no test files found');
  process.exit(1);
}
const result = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-concurrency=4', '--test-timeout=120000', ...files],
  { stdio: 'inherit' },
);
process.exit(result.status ?? 1);
