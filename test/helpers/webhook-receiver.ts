/**
 * A webhook receiver on loopback for the notification tests: records every request (path,
 * headers, raw body, time) and answers as the test says, per path and per request number
 * (an answer of 'hang' never answers, as a receiver that hangs).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  path: string;
  headers: http.IncomingHttpHeaders;
  body: string;
  at: number;
}

export type Answer = { status: number; headers?: Record<string, string>; body?: string } | 'hang';

export interface Receiver {
  url(path: string): string;
  received(path?: string): Received[];
  /** JSON bodies received on `path`. */
  json(path: string): { type: string; timestamp: string; data: Record<string, unknown> }[];
  close(): Promise<void>;
}

export async function startReceiver(answer: (path: string, n: number) => Answer = () => ({ status: 200 })): Promise<Receiver> {
  const received: Received[] = [];
  const hanging: http.ServerResponse[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      const path = req.url ?? '/';
      received.push({ path, headers: req.headers, body, at: Date.now() });
      const a = answer(path, received.filter((r) => r.path === path).length);
      if (a === 'hang') {
        hanging.push(res);
        return;
      }
      res.writeHead(a.status, a.headers).end(a.body ?? '');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: (path) => `http://127.0.0.1:${port}${path}`,
    received: (path) => received.filter((r) => path === undefined || r.path === path),
    json: (path) => received.filter((r) => r.path === path).map((r) => JSON.parse(r.body)),
    close: async () => {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
