import * as fs from 'fs';
import * as path from 'path';
import { randomHex } from '../digest/random';

/**
 * Staging entries under tmp/ are named `<pid>.<starttime>.<random>`: an entry whose process is
 * gone (or whose pid was reused by a process that started later) is stale and is reaped by the
 * next open, while other live processes' staging is left alone.
 */
let selfStart: string | undefined;

function processStartTime(pid: number): string | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
    // field 22 (starttime) comes after the parenthesised command, which may contain spaces
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return rest[19] ?? null;
  } catch {
    return null;
  }
}

function ownStart(): string {
  if (selfStart === undefined) selfStart = processStartTime(process.pid) ?? '0';
  return selfStart;
}

export function stagingName(kind: string): string {
  return `${process.pid}.${ownStart()}.${kind}-${randomHex(6)}`;
}

/** True when the process that made this staging entry is gone. */
export function isStale(name: string): boolean {
  const m = /^(\d+)\.(\d+)\./.exec(name);
  if (!m) return true;
  const pid = Number(m[1]);
  if (pid === process.pid) return m[2] !== ownStart();
  if (process.platform !== 'linux') {
    try {
      process.kill(pid, 0);
      return false;
    } catch (e) {
      return (e as NodeJS.ErrnoException).code === 'ESRCH';
    }
  }
  const start = processStartTime(pid);
  return start === null || start !== m[2];
}

/** Moves `target` aside into tmp/ (one rename, so it vanishes at once) and deletes it in the background. */
export function discard(tmpDir: string, target: string): Promise<void> {
  const aside = path.join(tmpDir, stagingName('trash'));
  try {
    fs.renameSync(target, aside);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return Promise.resolve();
    throw e;
  }
  return fs.promises.rm(aside, { recursive: true, force: true }).catch(() => undefined);
}
