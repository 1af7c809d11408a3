import { connect, type Socket } from 'node:net';
import { isIP } from 'node:net';
import { connect as connectTls } from 'node:tls';
import type { Address } from './address.js';
import type { TlsFiles } from './security.js';

/**
 * Opens a TCP connection, or a TLS one that trusts only `tls.ca` when TLS
 * files are given; rejects with the socket error when it cannot.
 */
export function dial(address: Address, tls: TlsFiles | null = null): Promise<Socket> {
  return new Promise((resolve, reject) => {
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
    const onError = (error: Error) => {
      socket.destroy();
      reject(error);
    };
    socket.once('error', onError);
    socket.once(tls ? 'secureConnect' : 'connect', () => {
      socket.off('error', onError);
      resolve(socket);
    });
  });
}
