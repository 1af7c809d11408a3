import { once } from 'node:events';
import { connect, isIP, type Socket } from 'node:net';
import { connect as connectTls } from 'node:tls';
import type { Address } from './address.js';
import type { TlsFiles } from './security.js';
import { explainTlsError } from './tls-errors.js';

/**
 * Opens a TCP connection, or a TLS one that trusts only `tls.ca` when TLS
 * files are given; rejects with the socket error when it cannot (a TLS one
 * explained: see tls-errors.ts), or when `signal` aborts first.
 */
export async function dial(address: Address, tls: TlsFiles | null = null, signal?: AbortSignal): Promise<Socket> {
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
    // once() rejects on 'error' (or the signal) and removes its listeners either way.
    await once(socket, tls ? 'secureConnect' : 'connect', signal ? { signal } : {});
  } catch (error) {
    socket.destroy();
    throw tls ? explainTlsError(error as Error, address, { ca: tls.ca !== null, cert: tls.cert !== null }) : error;
  }
  return socket;
}

/**
 * Why a connection that `dial` opened was closed, explained the same way: a
 * TLS 1.3 server checks a client certificate after the client's handshake
 * is done, so its refusal arrives as a read error on an open connection.
 */
export function explainClose(cause: Error | null, address: Address, tls: TlsFiles | null, heard: boolean): Error | null {
  if (cause !== null) return tls ? explainTlsError(cause, address, { ca: tls.ca !== null, cert: tls.cert !== null }) : cause;
  // A TLS 1.2 server refusing a client certificate just closes; nothing else makes a dispatcher close without a word.
  if (tls?.cert && !heard) return new Error('closed right after the TLS handshake: it may not accept this client certificate (--tls-cert), which must be signed by the CA it has as --tls-ca');
  return null;
}
