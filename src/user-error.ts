/**
 * An error meant for a person at a terminal: printed as one line, no stack. Anything the user can
 * fix (a flag, a setting, an unreachable server) throws it; the CLI and the worker print its message.
 * `exitCode` is the CLI's exit status for it: 1 unless the error tells how a batch ended (see
 * BATCH_EXIT in src/cli/batch-outcome.ts).
 */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = 'CliError';
  }
}
