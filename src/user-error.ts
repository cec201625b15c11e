/**
 * An error meant for a person at a terminal: printed as one line, no stack. Anything the user can
 * fix (a flag, a setting, an unreachable server) throws it; the CLI and the worker print its message.
 */
export class CliError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CliError';
  }
}
