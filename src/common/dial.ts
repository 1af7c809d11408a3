import { connect, type Socket } from 'node:net';
import type { Address } from './address.js';

/** Opens a TCP connection; rejects with the socket error when it cannot. */
export function dial(address: Address): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: address.host, port: address.port });
    const onError = (error: Error) => {
      socket.destroy();
      reject(error);
    };
    socket.once('error', onError);
    socket.once('connect', () => {
      socket.off('error', onError);
      resolve(socket);
    });
  });
}
