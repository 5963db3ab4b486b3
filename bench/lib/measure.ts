import { spawnSync } from 'child_process';

export interface Sample {
  /** seconds per run */
  times: number[];
  median: number;
  min: number;
  max: number;
}

export function summarise(times: number[]): Sample {
  const s = [...times].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  const median = s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
  return { times, median, min: s[0], max: s[s.length - 1] };
}

/** Runs `fn` `runs` times (after `setup` each time, untimed) and summarises the wall-clock seconds. */
export async function measure(runs: number, fn: () => unknown | Promise<unknown>, setup?: () => unknown | Promise<unknown>, teardown?: () => unknown | Promise<unknown>): Promise<Sample> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    if (setup) await setup();
    const t0 = process.hrtime.bigint();
    await fn();
    times.push(Number(process.hrtime.bigint() - t0) / 1e9);
    if (teardown) await teardown();
  }
  return summarise(times);
}

/** Times a shell command (bash -c), failing loudly when it fails. */
export function timeShell(cmd: string, env?: NodeJS.ProcessEnv): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync('bash', ['-c', cmd], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...env }, maxBuffer: 64 << 20 });
  const dt = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) throw new Error(`command failed (${r.status}): ${cmd}\n${r.stderr.toString().slice(-2000)}`);
  return dt;
}

export async function measureShell(runs: number, cmd: string, setup?: () => unknown | Promise<unknown>, teardown?: () => unknown | Promise<unknown>): Promise<Sample> {
  return measure(runs, () => timeShell(cmd), setup, teardown);
}

/** Peak RSS in bytes of a command, from GNU time's %M (KiB), or from /proc when time is missing. */
export function peakRss(cmd: string): number {
  const r = spawnSync('/usr/bin/time', ['-f', '%M', 'bash', '-c', cmd], { stdio: ['ignore', 'ignore', 'pipe'] });
  if (r.status !== 0) throw new Error(`command failed: ${cmd}\n${r.stderr.toString().slice(-2000)}`);
  const lines = r.stderr.toString().trim().split('\n');
  return Number(lines[lines.length - 1]) * 1024;
}
