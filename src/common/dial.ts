import { once } from 'node:events';
import { connect, isIP, type Socket } from 'node:net';
import { connect as connectTls } from 'node:tls';
import type { Address } from './address.js';
import type { TlsFiles } from './security.js';

/**
 * Opens a TCP connection, or a TLS one that trusts only `tls.ca` when TLS
 * files are given; rejects with the socket error when it cannot.
 */
export async function dial(address: Address, tls: TlsFiles | null = null): Promise<Socket> {
  const socket = tls
    ? connectTls({
      host: address.host,
      port: address.port,
      ca: tls.ca ?? undefined,
      cert: tls.cert ?? undefined,
      key: tls.key ?? undefined,
      servername: isIP(address.host) ? undefined : address.host,
    })
    : connect({ host: address.host, port: address.port });
  try {
    // once() rejects on 'error' and removes both listeners either way.
    await once(socket, tls ? 'secureConnect' : 'connect');
  } catch (error) {
    socket.destroy();
    throw error;
  }
  return socket;
}
