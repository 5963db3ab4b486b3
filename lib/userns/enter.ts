import * as fs from 'fs';
import * as path from 'path';
import { randomBytes } from 'crypto';
import { constants as osConstants } from 'os';
import { spawn, spawnSync, SpawnOptions } from 'child_process';
import { workerScript } from '../workers';
import type { HolderRecord } from './holder';

/** Set in a command that was re-executed inside the namespace by one that ran outside it. */
export const REEXEC_ENV = 'LAYERFS_USERNS_REEXEC';

/**
 * The command line that runs `cmd` inside the holder's user and mount namespace, in `cwd`.
 * `--preserve-credentials`: the caller's uid is 0 there already (the mapping says so), and a
 * single-id mapping forbids setgroups. The directory is changed after joining, by a shell: a
 * descriptor opened outside (`nsenter --wd`) would keep the old mount namespace's mount, which
 * overlayfs refuses for its layers ("failed to clone upperpath").
 */
export function nsenterArgv(nsenter: string, h: HolderRecord, cmd: string[], cwd = process.cwd()): string[] {
  return [nsenter, '--target', String(h.pid), '--user', '--mount', '--preserve-credentials', '--', '/bin/sh', '-c', 'cd -- "$0" 2>/dev/null || cd /; exec "$@"', cwd, ...cmd];
}

/** Runs `cmd` inside, with the caller's stdio, and resolves with its exit code (a signal's: 128 + n). */
export function runInside(nsenter: string, h: HolderRecord, cmd: string[], opts: SpawnOptions = {}): Promise<number> {
  const [file, ...args] = nsenterArgv(nsenter, h, cmd);
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: 'inherit', ...opts });
    // the terminal's Ctrl-C reaches the child too (same process group); this side only waits
    const forward = (sig: NodeJS.Signals) => child.kill(sig);
    const ignore = () => undefined;
    process.on('SIGINT', ignore);
    process.on('SIGTERM', forward);
    process.on('SIGHUP', forward);
    child.on('error', reject);
    child.on('exit', (code, sig) => {
      process.off('SIGINT', ignore);
      process.off('SIGTERM', forward);
      process.off('SIGHUP', forward);
      resolve(code ?? 128 + (sig ? osConstants.signals[sig] : 0));
    });
  });
}

/**
 * The behavioural probe (probe-main.ts) in the holder's namespace, in a scratch directory of
 * `storeDir` (the store's own filesystem; not tmp/, whose unknown names other opens reap):
 * null when overlay works there, else why not.
 */
export function probeInside(nsenter: string, h: HolderRecord, storeDir: string): string | null {
  const dir = path.join(storeDir, `userns-probe-${process.pid}-${randomBytes(4).toString('hex')}`);
  fs.mkdirSync(dir, { mode: 0o700 });
  try {
    const [file, ...args] = nsenterArgv(nsenter, h, [process.execPath, workerScript('userns/probe-main'), dir], '/');
    const r = spawnSync(file, args, { encoding: 'utf8', timeout: 30_000 });
    try {
      const out = JSON.parse(r.stdout) as { ok: boolean; reason?: string };
      return out.ok ? null : out.reason ?? 'the probe failed';
    } catch {
      return `the probe in the user namespace did not answer: ${(r.stderr || r.error?.message || `exit ${r.status}`).trim()}`;
    }
  } finally {
    // the probe's files are owned by ids of the namespace: remove them from inside
    const [file, ...args] = nsenterArgv(nsenter, h, ['rm', '-rf', '--', dir], '/');
    spawnSync(file, args);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
