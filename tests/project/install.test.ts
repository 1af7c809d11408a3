// A clean `npm install` is quiet: npm (11.16 and later) warns about every
// dependency whose install script package.json's `allowScripts` does not
// cover. The only one is esbuild's (tsx's compiler), and it is denied: its
// postinstall only checks the binary and swaps its JavaScript launcher for
// it, while tsx calls esbuild's JavaScript API, which finds the binary of
// @esbuild/<platform> without it.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';

const root = new URL('../../', import.meta.url);
const read = (file: string) => JSON.parse(readFileSync(new URL(file, root), 'utf8'));

test('every dependency with an install script is named in allowScripts, so npm install prints no warning', () => {
  const lock = read('package-lock.json') as { packages: Record<string, { hasInstallScript?: boolean }> };
  const allow = (read('package.json') as { allowScripts?: Record<string, boolean> }).allowScripts ?? {};
  const withScripts = Object.entries(lock.packages)
    .filter(([, entry]) => entry.hasInstallScript)
    .map(([path]) => path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length));
  assert.ok(withScripts.length > 0, 'the lock file still lists esbuild with its install script');
  for (const name of withScripts) assert.ok(name in allow, `${name} has an install script that allowScripts does not cover`);
});

test('esbuild\'s install script is denied, and tsx works without it', async () => {
  const allow = (read('package.json') as { allowScripts: Record<string, boolean> }).allowScripts;
  assert.equal(allow.esbuild, false);
  // This very test runs through tsx: were the binary missing, nothing here would have loaded.
  const { transform } = await import('esbuild');
  assert.equal((await transform('const x: number = 1', { loader: 'ts' })).code.trim(), 'const x = 1;');
});
