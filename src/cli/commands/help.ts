/** `waymark help [command...]`: a command's help, or the program's; a command it does not know is named. */
import type { Command } from 'commander';
import { CliError } from '../../user-error';

export function addHelpCommand(program: Command): void {
  program
    .command('help')
    .description('show the help of a command (e.g. `waymark help start`, `waymark help schedule create`)')
    .argument('[command...]', 'the command')
    .action((words: string[]) => {
      let command = program;
      for (const [i, word] of words.entries()) {
        const sub = command.commands.find((c) => c.name() === word || c.aliases().includes(word));
        if (!sub) {
          const known = command.commands.map((c) => c.name()).join(', ');
          const under = ['waymark', ...words.slice(0, i)].join(' ');
          throw new CliError(
            `no command "${[...words.slice(0, i), word].join(' ')}"; the commands of ${under} are ${known} (\`${under} --help\` describes them)`,
          );
        }
        command = sub;
      }
      command.help();
    });
}
