import { spawn, spawnSync } from 'child_process';
import type { Readable, Writable } from 'stream';
import * as os from 'os';

/** How a container's process ended: its exit code, 128+N when signal N killed it (as shells report it). */
export interface RunResult {
  exitCode: number;
  /** the signal that killed the process, when the runtime reported 128+N (or the runtime itself died of one) */
  signal: NodeJS.Signals | null;
}

export type StdioSpec = 'inherit' | 'ignore' | Readable | Writable;

export interface ExecuteOptions {
  /** the runtime's executable (see locateRuntime) */
  runtime: string;
  bundle: string;
  /** the runtime's name for the container: unique while it runs */
  id: string;
  /** the runtime's state directory (`--root`; default: the runtime's own, /run/runc) */
  stateRoot?: string;
  stdin?: 'inherit' | 'ignore' | Readable;
  stdout?: 'inherit' | 'ignore' | Writable;
  stderr?: 'inherit' | 'ignore' | Writable;
  /** the process has a terminal: the runtime then needs ours, so it stays in our process group */
  tty?: boolean;
  /** aborting kills the container (SIGKILL through the runtime) */
  signal?: AbortSignal;
  /** called once the runtime was started, with a function that delivers a signal to the container */
  onStarted?: (kill: (sig: NodeJS.Signals) => void) => void;
}

/**
 * Runs a bundle in the foreground with `RUNTIME run --bundle DIR ID` and waits for its process.
 * Without a terminal the runtime gets a process group of its own, so a terminal's Ctrl-C reaches
 * us alone and is forwarded once, with `RUNTIME kill`; with one, the runtime must own the
 * terminal and gets the keys itself.
 */
export function executeBundle(o: ExecuteOptions): Promise<RunResult> {
  const pipeIn = typeof o.stdin === 'object';
  const pipeOut = typeof o.stdout === 'object';
  const pipeErr = typeof o.stderr === 'object';
  const global = o.stateRoot ? ['--root', o.stateRoot] : [];
  const child = spawn(o.runtime, [...global, 'run', '--bundle', o.bundle, o.id], {
    stdio: [pipeIn ? 'pipe' : o.stdin ?? 'inherit', pipeOut ? 'pipe' : o.stdout ?? 'inherit', pipeErr ? 'pipe' : o.stderr ?? 'inherit'],
    detached: !o.tty,
  });
  if (pipeIn) {
    const input = o.stdin as Readable;
    input.pipe(child.stdin!);
    // the process may exit without reading all of its input
    child.stdin!.on('error', () => undefined);
  }
  if (pipeOut) child.stdout!.pipe(o.stdout as Writable, { end: false });
  if (pipeErr) child.stderr!.pipe(o.stderr as Writable, { end: false });

  // the runtime names the container only once it made it: until then, `kill` is tried again
  const kill = (sig: NodeJS.Signals, tries = 50): void => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const k = spawn(o.runtime, [...global, 'kill', o.id, sig], { stdio: 'ignore' });
    k.once('error', () => undefined);
    k.once('close', (code) => {
      if (code !== 0 && tries > 1) setTimeout(() => kill(sig, tries - 1), 100).unref();
    });
  };
  const onAbort = () => kill('SIGKILL');
  o.signal?.addEventListener('abort', onAbort, { once: true });
  o.onStarted?.(kill);

  return new Promise<RunResult>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, sig) => {
      o.signal?.removeEventListener('abort', onAbort);
      if (sig) return resolve({ exitCode: 128 + (os.constants.signals[sig] ?? 0), signal: sig });
      const exitCode = code ?? 1;
      resolve({ exitCode, signal: signalOf(exitCode) });
    });
  });
}

function signalOf(code: number): NodeJS.Signals | null {
  if (code <= 128) return null;
  const n = code - 128;
  for (const [name, num] of Object.entries(os.constants.signals)) if (num === n) return name as NodeJS.Signals;
  return null;
}

/** Removes what a runtime still holds of a container (after a crash of the process that ran it). */
export function deleteRuntimeContainer(runtime: string, id: string, stateRoot?: string): void {
  spawnSync(runtime, [...(stateRoot ? ['--root', stateRoot] : []), 'delete', '--force', id], { stdio: 'ignore' });
}
