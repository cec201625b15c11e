/** Cheap checks for "is a Temporal server there?", used before starting or reusing one. */
import net from 'node:net';
import { Connection } from '@temporalio/client';
import { temporalAddress } from '../settings';

/**
 * True when a Temporal frontend answers at `address` (plaintext, no API key: the local case),
 * so a command can reuse a running dev server instead of starting a second one.
 */
export async function isServerListening(address: string = temporalAddress(), timeoutMs = 2000): Promise<boolean> {
  const connection = Connection.lazy({ address, connectTimeout: timeoutMs });
  try {
    // ensureConnected() waits for the channel and makes one getSystemInfo call: a bare open
    // port is not enough, it must be a Temporal frontend.
    await connection.ensureConnected();
    return true;
  } catch {
    return false;
  } finally {
    await connection.close();
  }
}

/** True when something accepts TCP connections on host:port, whatever it is. */
export function isPortOpen(host: string, port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (open: boolean) => {
      socket.destroy();
      resolve(open);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}
