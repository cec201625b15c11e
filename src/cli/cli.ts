/** The `waymark` command line: the program and its commands, one file each under commands/. */
import { Command } from 'commander';
import { PayloadDecryptionError } from '../codec/aes-gcm-codec';
import { LedgerUnavailableError } from '../ledger/ledger-unavailable-error';
import { CliError } from '../user-error';
import { addDevCommand } from './commands/dev';
import { addWorkerCommand } from './commands/worker';
import { addStartCommand } from './commands/start';
import { addStatusCommand } from './commands/status';
import { addCancelCommand, addConfigureCommand, addPauseCommand, addResumeCommand } from './commands/control';
import { addListCommand } from './commands/list';
import { addRedriveCommand } from './commands/redrive';
import { addFailuresCommand } from './commands/failures';
import { addExportCommand } from './commands/export';
import { addScheduleCommands } from './commands/schedule';
import { addLimitsCommand } from './commands/limits';
import { addReportCommand } from './commands/report';
import { addNotifyCommand } from './commands/notify';
import { addHelpCommand } from './commands/help';
import { packageVersion } from './package-version';

export function buildProgram(): Command {
  const program = new Command('waymark')
    .description('Long batch jobs on Temporal where an interruption costs a small, chosen number of items')
    .showHelpAfterError('(run `waymark help` for the commands)')
    // Commander's own parse errors read like every other waymark error.
    .configureOutput({ outputError: (text, write) => write(text.replace(/^error: /, 'waymark: ')) })
    .version(packageVersion(), '-V, --version', 'print the version of waymark')
    // Commander's own help command prints the general help for a command it does not know, without a word about it.
    .helpCommand(false);
  addDevCommand(program);
  addWorkerCommand(program);
  addStartCommand(program);
  addStatusCommand(program);
  addPauseCommand(program);
  addResumeCommand(program);
  addCancelCommand(program);
  addConfigureCommand(program);
  addListCommand(program);
  addRedriveCommand(program);
  addFailuresCommand(program);
  addExportCommand(program);
  addScheduleCommands(program);
  addLimitsCommand(program);
  addReportCommand(program);
  addNotifyCommand(program);
  addHelpCommand(program);
  return program;
}

export async function main(argv = process.argv): Promise<void> {
  try {
    await buildProgram().parseAsync(argv);
  } catch (err) {
    process.exitCode = err instanceof CliError ? err.exitCode : 1;
    if (err instanceof CliError || err instanceof PayloadDecryptionError || err instanceof LedgerUnavailableError) {
      console.error(`waymark: ${err.message}`);
      return;
    }
    // docs/cli.md promises one line per mistake; what nobody foresaw still gets one, and its stack on request.
    const message = err instanceof Error ? err.message : String(err);
    console.error(
      `waymark: ${message.split('\n')[0].trim()}${process.env.WAYMARK_DEBUG ? '' : ' (set WAYMARK_DEBUG=1 to see where it came from)'}`,
    );
    if (process.env.WAYMARK_DEBUG) console.error(err);
  }
}

if (require.main === module) void main();
