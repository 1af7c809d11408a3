// Throwaway certificates for TLS tests, made with the `openssl` command in a
// temp folder: a CA and a server certificate for localhost/127.0.0.1 signed
// by it (and one for localhost only), an unrelated CA, and a client CA with a
// client certificate. EC keys
// keep it fast. Arguments are always arrays; nothing goes through a shell.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { tempDir } from './temp.js';

export interface Pki {
  dir: string;
  /** The CA that signed the server certificate. */
  ca: string;
  server: string;
  serverKey: string;
  /** A CA that signed nothing the dispatcher uses. */
  otherCa: string;
  /** The CA the dispatcher requires client certificates from (--tls-ca on the dispatcher). */
  clientCa: string;
  client: string;
  clientKey: string;
  /** A client certificate signed by otherCa, not clientCa. */
  rogueClient: string;
  rogueClientKey: string;
  /** A server certificate signed by `ca` for the name localhost only (no IP address). */
  localhostOnly: string;
  localhostOnlyKey: string;
}

const KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

function openssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
}

function makeCa(dir: string, name: string): void {
  openssl(dir, [
    'req', '-x509', ...KEY, '-days', '2', '-subj', `/CN=keel-test-${name}`,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
    '-keyout', `${name}.key`, '-out', `${name}.pem`,
  ]);
}

function makeLeaf(dir: string, name: string, ca: string, cn: string, extensions: string): void {
  openssl(dir, ['req', ...KEY, '-subj', `/CN=${cn}`, '-keyout', `${name}.key`, '-out', `${name}.csr`]);
  writeFileSync(join(dir, `${name}.ext`), extensions);
  openssl(dir, [
    'x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.pem`, '-CAkey', `${ca}.key`, '-CAcreateserial',
    '-days', '2', '-extfile', `${name}.ext`, '-out', `${name}.pem`,
  ]);
}

export function makePki(t: TestContext): Pki {
  const dir = tempDir(t, 'keel-pki-');
  makeCa(dir, 'ca');
  makeCa(dir, 'other-ca');
  makeCa(dir, 'client-ca');
  makeLeaf(dir, 'server', 'ca', 'localhost',
    'basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n');
  makeLeaf(dir, 'client', 'client-ca', 'keel-test-client', 'basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n');
  makeLeaf(dir, 'rogue-client', 'other-ca', 'keel-test-rogue', 'basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n');
  makeLeaf(dir, 'localhost-only', 'ca', 'localhost', 'basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost\n');
  const at = (file: string) => join(dir, file);
  return {
    dir,
    ca: at('ca.pem'),
    server: at('server.pem'),
    serverKey: at('server.key'),
    otherCa: at('other-ca.pem'),
    clientCa: at('client-ca.pem'),
    client: at('client.pem'),
    clientKey: at('client.key'),
    rogueClient: at('rogue-client.pem'),
    rogueClientKey: at('rogue-client.key'),
    localhostOnly: at('localhost-only.pem'),
    localhostOnlyKey: at('localhost-only.key'),
  };
}
