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

/** How often a start that lost its ports to another process is tried again on new ones. */
const PORT_ATTEMPTS = 5;

/**
 * Starts something on `count` distinct ports free a moment ago. Between the check and the bind
 * another process (a test running beside this one) may take a port; the start then fails with
 * "address already in use" and is tried again on new ports, up to PORT_ATTEMPTS times.
 */
export async function startOnFreePorts<T>(count: number, start: (ports: number[]) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const ports = new Set<number>();
    while (ports.size < count) ports.add(await findFreePort());
    try {
      return await start([...ports]);
    } catch (err) {
      if (attempt >= PORT_ATTEMPTS || !lostPort(err)) throw err;
    }
  }
}

/** Whether an error (or one of its causes) says a port was taken: the OS's bind error, or waymark's own check before it. */
export function lostPort(err: unknown): boolean {
  for (let e = err; e instanceof Error; e = e.cause) {
    if (/address already in use|EADDRINUSE|is already in use/i.test(e.message)) return true;
  }
  return false;
}
