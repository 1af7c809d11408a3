// A one-shot client connection: hello as a client, one request, one reply.

import { formatAddress, type Address } from '../common/address.js';
import { Connection } from '../common/connection.js';
import { dial } from '../common/dial.js';
import { TimeoutError } from '../common/errors.js';
import { PROTOCOL_VERSION, type Message, type MessageOf, type MessageType } from '../protocol/messages.js';

export class UnreachableError extends Error {
  override readonly name = 'UnreachableError';
  readonly code = 'unreachable';
}

/** Sends `request` after the handshake and resolves with the first reply of type `expect`. */
export async function request<T extends MessageType>(address: Address, message: Message, expect: T, timeoutMs = 10_000): Promise<MessageOf<T>> {
  const where = formatAddress(address);
  let socket;
  try {
    socket = await dial(address);
  } catch (error) {
    throw new UnreachableError(`cannot reach dispatcher at ${where}: ${(error as Error).message}`);
  }
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      conn.destroy();
      reject(new TimeoutError(`no answer from dispatcher at ${where} within ${timeoutMs} ms`));
    }, timeoutMs);
    const conn: Connection = new Connection(socket, {
      onMessage: (reply) => {
        if (reply.type === 'welcome') {
          conn.send(message);
        } else if (reply.type === expect) {
          clearTimeout(timer);
          conn.close();
          resolve(reply as MessageOf<T>);
        } else if (reply.type === 'error') {
          clearTimeout(timer);
          conn.close();
          reject(new Error(`dispatcher refused: ${reply.code}: ${reply.message}`));
        }
      },
    });
    conn.send({ type: 'hello', version: PROTOCOL_VERSION, role: 'client', name: 'keel-cli' });
    void conn.closed.then((cause) => {
      clearTimeout(timer);
      reject(new UnreachableError(`dispatcher at ${where} closed the connection${cause ? `: ${cause.message}` : ''}`));
    });
  });
}
