/**
 * A long-running command (`worker`, `dev`) stops when whatever launched it dies. `npx waymark
 * worker` runs us as npm's grandchild, through `sh -c`: killing the npx process, even with
 * SIGKILL, would otherwise leave this node process (and its server or slices) running, orphaned.
 * The stop is a SIGTERM to ourselves, so the command's own graceful shutdown runs.
 */
import fs from 'node:fs';

const CHECK_MS = 1000;
const SHELLS = new Set(['sh', 'bash', 'dash', 'zsh', 'ash']);

export function exitWithLauncher(): void {
  const parent = process.ppid;
  const launchers = [parent];
  const viaNpm = Boolean(process.env.npm_command || process.env.npm_execpath);
  const grandparent = viaNpm && SHELLS.has(processName(parent) ?? '') ? parentOf(parent) : undefined;
  if (grandparent !== undefined && grandparent > 1) launchers.push(grandparent);
  const timer = setInterval(() => {
    if (process.ppid === parent && launchers.every(alive)) return;
    clearInterval(timer);
    console.error('waymark: the process that started this one is gone; stopping');
    process.kill(process.pid, 'SIGTERM');
  }, CHECK_MS);
  timer.unref();
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** From /proc (Linux); elsewhere undefined, and only the parent is watched. */
function procStat(pid: number): { name: string; ppid: number } | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const close = stat.lastIndexOf(')');
    return { name: stat.slice(stat.indexOf('(') + 1, close), ppid: Number(stat.slice(close + 2).split(' ')[1]) };
  } catch {
    return undefined;
  }
}

function processName(pid: number): string | undefined {
  return procStat(pid)?.name;
}

function parentOf(pid: number): number | undefined {
  return procStat(pid)?.ppid;
}
