import net from 'node:net';

/**
 * A TCP port that was free a moment ago on 127.0.0.1, for servers that must be told their
 * port up front. The OS hands out ephemeral ports round-robin, so a reuse race is unlikely.
 */
export function findFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}
