import { createServer, type Server } from 'node:net';

/** A TCP server on 127.0.0.1:`port` (0 for a free one), and the port it got. */
export async function listenOn(port = 0): Promise<{ server: Server; port: number }> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no TCP address');
  return { server, port: address.port };
}
