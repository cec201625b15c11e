/**
 * Whether a program can start on this machine, found the way spawn (execvp) finds it: a
 * command[0] with a '/' is a path (relative to the working directory), anything else is looked
 * up on PATH. Shared by every processor that runs a program, so a typo in a command fails the
 * batch once, with one message, instead of failing every item after its attempts.
 */
import { accessSync, constants, statSync } from 'node:fs';
import { hostname } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import { ProcessorCannotStartError } from './processor';

/**
 * The reason `program` cannot start here, or undefined when it is an executable file. PATH is
 * the one the program would be spawned with.
 */
export function programStartProblem(program: string, path = process.env.PATH ?? ''): string | undefined {
  if (program.includes('/')) {
    const file = resolve(program);
    const problem = fileProblem(file);
    if (problem === 'missing') return `${file} does not exist (ENOENT)`;
    if (problem === 'directory') return `${file} is a directory, not a program (EACCES)`;
    if (problem === 'not-executable') return `${file} is not executable (EACCES); make it executable with chmod +x ${file}`;
    return undefined;
  }
  let notExecutable: string | undefined;
  for (const dir of path.split(delimiter)) {
    // An empty PATH entry means the working directory, as for execvp.
    const file = join(dir === '' ? '.' : dir, program);
    const problem = fileProblem(file);
    if (problem === undefined) return undefined;
    if (problem === 'not-executable') notExecutable ??= resolve(file);
  }
  if (notExecutable !== undefined) {
    return `the only "${program}" on the worker's PATH is ${notExecutable}, which is not executable (EACCES); make it executable with chmod +x ${notExecutable}`;
  }
  return `there is no "${program}" on the worker's PATH (ENOENT; PATH=${path})`;
}

/** Throws ProcessorCannotStartError, naming the program and what to do, unless `program` can start here. */
export function checkProgramCanStart(processorName: string, program: string, path?: string): void {
  const problem = programStartProblem(program, path);
  if (problem !== undefined) throw programCannotStart(processorName, program, problem, !program.includes('/'));
}

export function programCannotStart(
  processorName: string,
  program: string,
  reason: string,
  lookedUpOnPath: boolean,
): ProcessorCannotStartError {
  return new ProcessorCannotStartError(
    `processor "${processorName}" cannot start "${program}" on ${hostname()}: ${reason}. ` +
      'Every item would fail the same way, so the batch stops here. Fix command[0] in processor.options ' +
      "(a program on the worker's PATH, or the path of an executable file) or install the program on every worker, then start the batch again",
    lookedUpOnPath,
  );
}

function fileProblem(file: string): 'missing' | 'directory' | 'not-executable' | undefined {
  let isDirectory: boolean;
  try {
    isDirectory = statSync(file).isDirectory();
  } catch {
    return 'missing';
  }
  if (isDirectory) return 'directory';
  try {
    accessSync(file, constants.X_OK);
  } catch {
    return 'not-executable';
  }
  return undefined;
}
