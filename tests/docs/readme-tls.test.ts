// The README's TLS recipe as written: its openssl lines, run as a user would
// paste them, make a certificate that commands on the dispatcher's own
// machine accept at the default address, 127.0.0.1, and at localhost.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { runCli, world } from '../helpers/e2e.js';
import { MASTER } from '../helpers/e2e-secret.js';

const README = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

/** The shell lines of the first sh block after `heading`. */
function shellBlock(heading: string): string[] {
  const section = README.slice(README.indexOf(heading));
  const block = /```sh\n([\s\S]*?)```/.exec(section)![1]!;
  return block.split('\n').filter((line) => line.trim() !== '' && !line.startsWith('#'));
}

test('the README\'s certificate recipe fits the default address: keel status at 127.0.0.1 and at localhost', async (t) => {
  const w = world(t);
  const recipe = shellBlock('### TLS').filter((line) => /^(openssl|printf) /.test(line));
  assert.equal(recipe.length, 4, recipe.join('\n'));
  // As pasted into a shell, in a folder of its own.
  for (const line of recipe) execFileSync('sh', ['-c', line], { cwd: w.tmp, stdio: ['ignore', 'pipe', 'pipe'] });
  const server = shellBlock('### TLS').find((line) => line.startsWith('node dist/dispatcher/main.js'))!;
  assert.match(server, /--tls-cert server\.pem --tls-key server\.key/);

  const d = await w.dispatcher({
    secret: MASTER, extra: ['--tls-cert', join(w.tmp, 'server.pem'), '--tls-key', join(w.tmp, 'server.key')],
    tls: { ca: readFileSync(join(w.tmp, 'ca.pem')) },
  });
  const ca = join(w.tmp, 'ca.pem');
  for (const host of ['127.0.0.1', 'localhost']) {
    const status = await runCli(['status', '--tls-ca', ca, '--dispatcher', `${host}:${d.port}`], { KEEL_TOKEN: MASTER });
    assert.equal(status.code, 0, `${host}: ${status.stderr}`);
    assert.match(status.stdout, /^runners: none/m);
  }
});
