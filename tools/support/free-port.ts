import net from 'node:net';

/**
 * A TCP port that was free a moment ago on `host`. The dev server must be told its ports up
 * front, and the chaos run restarts it on the same ones, so it cannot ask for port 0.
 */
export function findFreePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}
