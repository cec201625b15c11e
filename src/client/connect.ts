import { Client, Connection } from '@temporalio/client';
import { temporalAddress, temporalNamespace } from '../settings';

/** One line that says why no server answered and what to do about it. */
export function connectionHint(address: string, err: unknown): string {
  const why = err instanceof Error ? err.message.split('\n')[0] : String(err);
  return `no Temporal server reachable at ${address} (${why}); start one with \`npx waymark dev\` or set TEMPORAL_ADDRESS to a running server`;
}

export async function connectClient(address = temporalAddress(), namespace = temporalNamespace()): Promise<Client> {
  let connection: Connection;
  try {
    connection = await Connection.connect({ address, connectTimeout: 5000 });
    // connect() can succeed lazily; one cheap call proves a server answers.
    await connection.workflowService.getSystemInfo({});
  } catch (err) {
    throw new CliError(connectionHint(address, err));
  }
  return new Client({ connection, namespace });
}

/** An error meant for a person at a terminal: printed as one line, no stack. */
export class CliError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CliError';
  }
}
