// The observer's link and the dispatcher's `scan`: handed to the owner, and
// the connection stays up (an unexpected message would close it).
import assert from 'node:assert/strict';
import { createServer, type Socket } from 'node:net';
import { test } from 'node:test';
import { encode } from '../../src/protocol/codec.js';
import { PROTOCOL_VERSION } from '../../src/protocol/messages.js';
import { DispatcherLink } from '../../src/observer/link.js';
import { waitFor } from '../helpers/temp.js';

test('scan from the dispatcher asks the owner to scan, and the link stays connected', async (t) => {
  const sockets: Socket[] = [];
  const server = createServer((socket) => {
    sockets.push(socket);
    socket.on('error', () => {});
    // Welcome as soon as hello arrives; observing when observe does, and scan twice right after.
    let seen = '';
    socket.on('data', (chunk) => {
      seen += chunk.toString();
      if (seen.includes('"hello"') && !seen.includes('"observe"')) {
        socket.write(encode({ type: 'welcome', version: PROTOCOL_VERSION, heartbeatMs: 1000, deadlineMs: 3000 }));
      } else if (seen.includes('"observe"') && !seen.includes('scanned')) {
        seen += 'scanned';
        socket.write(encode({ type: 'observing', project: null }));
        socket.write(encode({ type: 'scan' }) + encode({ type: 'scan' }));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => {
    for (const socket of sockets) socket.destroy();
    server.close(() => resolve());
  }));
  const port = (server.address() as { port: number }).port;

  let scans = 0;
  const lines: string[] = [];
  const link = new DispatcherLink({
    security: { secret: null, tls: null }, project: null, supersede: false, dispatcher: { host: '127.0.0.1', port },
    name: 'test-observer',
    repoUrl: '/srv/git/app.git',
    log: (line) => lines.push(line),
    source: {
      pending: () => [], acknowledged: () => {}, scanNow: () => void (scans += 1),
      command: async () => ({ ok: false, code: null, message: 'not in this test', commit: null, ref: null }), finished: () => {},
    },
  });
  t.after(() => link.stop());
  link.start();
  await waitFor(() => scans === 2, 'two scans asked for', 5_000);
  assert.equal(link.isConnected, true, lines.join('\n'));
  assert.equal(sockets.length, 1, 'no reconnect');
  assert.ok(!lines.some((l) => /unreachable|unexpected/.test(l)), lines.join('\n'));
});
