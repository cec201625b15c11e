/**
 * How a worker process takes the signals that stop it, however it was started. The first stops
 * it gracefully (the SDK's Runtime: slices finish their item in flight, commit it and hand the
 * rest back). The Runtime stops listening after that first signal, so a second one would take
 * Node's default action and kill the worker mid-item, redoing that item after a heartbeat
 * timeout. A second comes easily: a signal to a process group (a shell script, `npx`, a
 * container runtime) reaches the worker and the shell that started it, whose death then makes
 * the worker stop itself (exitWithLauncher). So every later one is taken here and only noted.
 * SIGHUP (the terminal or the session that started the worker is gone) stops it gracefully too.
 */
export const STOP_SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGQUIT', 'SIGUSR2', 'SIGHUP'];

/** Notes each stop signal, so none kills the worker before its items in flight are committed; returns the function that stops listening. */
export function holdStopSignals(say: (line: string) => void): () => void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    say(
      stopping
        ? `waymark worker: ${signal} again; already stopping, the items in flight finish and are committed first (SIGKILL stops at once, and they are redone elsewhere)`
        : `waymark worker: ${signal}: stopping; the items in flight finish and are committed first`,
    );
    stopping = true;
  };
  for (const signal of STOP_SIGNALS) process.on(signal, onSignal);
  return () => {
    for (const signal of STOP_SIGNALS) process.off(signal, onSignal);
  };
}

/**
 * A worker whose stdout or stderr is a pipe to a process that died (`waymark worker | tee log`
 * when the shell goes) would crash with EPIPE at its next log line, mid-item. Its output is lost
 * then; its work is not.
 */
export function surviveClosedOutput(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPIPE') throw err;
    });
  }
}
