/** What every measurement group shares: the run's context, shell helpers, mount-safe cleanup, subjects. */
import * as fs from 'fs';
import * as path from 'path';
import { spawnSync } from 'child_process';
import { readMountInfo } from '../lib/native/mountinfo';
import { measure, summarise, Sample } from './lib/measure';
import type { Subject, Section, Target } from './lib/report';
import type { BenchData } from './data';
import type { Peers } from './peers';
import type { LayerStore } from '../lib/layer-store';
import type { PeerStorage } from './peer-storage';

export interface Ctx {
  data: BenchData;
  quick: boolean;
  /** a run of some groups only (--only): its report and charts are the -partial ones */
  partial: boolean;
  /** runs of a light measurement (milliseconds to a second) */
  runs: number;
  /** runs of a heavy one (a whole image: seconds to tens of seconds) */
  heavyRuns: number;
  /** scratch directory of this run, removed at the end */
  work: string;
  /** bin/layerfs */
  cli: string;
  peers: Peers;
  /** a store holding the bench image, imported once and shared by the groups */
  sharedStore(): Promise<{ store: LayerStore; chain: string }>;
  /** containers-storage (buildah, podman) holding the bench image, per storage driver */
  peerStorage(driver: 'overlay' | 'vfs'): PeerStorage;
  /** the image's chain with a layer of empty files on top that makes its root ten times larger */
  tenfoldChain(): Promise<{ chain: string; factor: number; entries: number }>;
}

export interface GroupResult {
  section: Section;
  targets: Target[];
  series?: { name: string; points: [number, number][] }[];
  /** SVG charts of the group, by file name under bench/ (a quick or partial run adds -quick or -partial to the name) */
  charts?: Array<{ file: string; svg: string }>;
}

export class ShellError extends Error {
  constructor(readonly cmd: string, readonly status: number | null, readonly stderr: string) {
    super(`command failed (${status}): ${cmd}\n${stderr.slice(-1500)}`);
  }
}

/** Runs a bash command and returns its stdout; a failure throws with the end of stderr. */
export function sh(cmd: string, opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): string {
  const r = spawnSync('bash', ['-c', cmd], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 256 << 20, env: { ...process.env, ...opts.env }, timeout: opts.timeoutMs });
  if (r.status !== 0) throw new ShellError(cmd, r.status, (r.stderr ?? '') + (r.error ? String(r.error) : ''));
  return r.stdout;
}

/** Seconds a bash command takes (stdout discarded); a failure throws. */
export function timeSh(cmd: string): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync('bash', ['-c', cmd], { stdio: ['ignore', 'ignore', 'pipe'], maxBuffer: 64 << 20 });
  const dt = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) throw new ShellError(cmd, r.status, r.stderr.toString());
  return dt;
}

/** Unmounts everything mounted at or below `dir`, deepest first (lazily when a mount stays busy). */
export function unmountUnder(dir: string): void {
  const base = path.resolve(dir);
  for (let pass = 0; pass < 3; pass++) {
    const mps = readMountInfo()
      .map((m) => m.mountPoint)
      .filter((p) => p === base || p.startsWith(base + '/'))
      .reverse();
    if (!mps.length) return;
    for (const mp of mps) if (spawnSync('umount', [mp], { stdio: 'ignore' }).status !== 0) spawnSync('umount', ['-l', mp], { stdio: 'ignore' });
  }
}

/** Removes a tree that may hold mounts (never deleting through a mountpoint). */
export function removeTree(dir: string): void {
  if (!fs.existsSync(dir)) return;
  unmountUnder(dir);
  fs.rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
}

/** An empty directory at `dir`. */
export function fresh(dir: string): string {
  removeTree(dir);
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

export const med = (s?: Subject): number | undefined => s?.sample?.median;
export const ms = (seconds: number): string => (seconds < 0.01 ? `${(seconds * 1000).toFixed(2)} ms` : seconds < 1 ? `${(seconds * 1000).toFixed(1)} ms` : `${seconds.toFixed(2)} s`);
export const mib = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(0)} MiB`;
export const firstLine = (e: unknown): string => ((e as Error).message ?? String(e)).split('\n').find((l) => l.trim()) ?? String(e);
/** What stderr said last, for a peer that could not run here. */
export const why = (e: unknown): string => {
  const err = e instanceof ShellError ? e.stderr.trim().split('\n').filter(Boolean).pop() ?? firstLine(e) : firstLine(e);
  return err.slice(0, 160);
};

const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** The rerun line of a shell measurement, as a hyperfine command. */
export function hyperfineLine(runs: number, cmd: string, prepare?: string): string {
  return `hyperfine --runs ${runs}${prepare ? ` --prepare ${q(prepare)}` : ''} ${q(cmd)}`;
}

export function librarySubject(name: string, sample: Sample | undefined, call: string, group: string, extra?: string): Subject {
  return { name, sample, command: `${call}  (npm run bench -- --only ${group})`, extra };
}

export function skippedSubject(name: string, reason: string, command = ''): Subject {
  return { name, skipped: reason, command };
}

export interface ShellMeasure {
  name: string;
  /** the peer program that must be installed for this line */
  tool?: string;
  cmd: string;
  /** run before each timed run, untimed */
  prepare?: string;
  /** run after the last run, untimed */
  after?: string;
  runs: number;
}

/** Times a shell command `runs` times; a missing peer or one that cannot run here gives a reason, not a failure. */
export async function shellSubject(ctx: Ctx, m: ShellMeasure): Promise<Subject> {
  const command = hyperfineLine(m.runs, m.cmd, m.prepare);
  const missing = m.tool ? ctx.peers.missing(m.tool) : undefined;
  if (missing) return skippedSubject(m.name, missing, command);
  try {
    const s = await measure(m.runs, () => timeSh(m.cmd), m.prepare ? () => sh(m.prepare!) : undefined);
    return { name: m.name, sample: s, command };
  } catch (e) {
    return skippedSubject(m.name, `could not run here: ${why(e)}`, command);
  } finally {
    if (m.after) spawnSync('bash', ['-c', m.after], { stdio: 'ignore' });
  }
}

/** A sample of per-iteration times out of runs of `iters` iterations each. */
export function perIteration(s: Sample, iters: number): Sample {
  return summarise(s.times.map((t) => t / iters));
}

/** Bytes/second samples as MB/s. */
export function throughput(s: Sample, bytes: number): Sample {
  return summarise(s.times.map((t) => bytes / t / 1e6));
}

/** A target line: holds when `ok` (null: not measured, with the reason in `detail`). */
export function target(text: string, ok: boolean | null, detail: string): Target {
  return { text, holds: ok, detail };
}

export function ratioText(peer: number | undefined, layerfs: number | undefined): string {
  return peer && layerfs ? `${(peer / layerfs).toFixed(2)}x` : '—';
}

export interface ChildResult {
  seconds: number;
  cpuSeconds: number;
  peakRssBytes: number;
  /** a push: bytes of blobs sent */
  bytes?: number;
}

/** Runs one layerfs operation in its own process (bench/child.ts) and returns what it measured. */
export function runChild(args: string[]): ChildResult {
  const script = path.join(__dirname, 'child.js');
  const r = spawnSync(process.execPath, [script, ...args], { encoding: 'utf8', maxBuffer: 16 << 20 });
  if (r.status !== 0) throw new ShellError(`node ${script} ${args.join(' ')}`, r.status, r.stderr);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as ChildResult;
}

/** The command line that reruns a child operation. */
export function childLine(args: string[]): string {
  return `node dist/bench/child.js ${args.join(' ')}`;
}

/**
 * Waits until the store's background deletions (removals rename aside into tmp/ and delete
 * later) are done, so that they do not run into the next timed run.
 */
export async function settle(store: { paths: { tmpDir: string } }, maxMs = 120000): Promise<void> {
  const t0 = Date.now();
  while (Date.now() - t0 < maxMs) {
    let left: string[] = [];
    try {
      left = fs.readdirSync(store.paths.tmpDir);
    } catch {
      return;
    }
    if (!left.length) return;
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A group chart's file name for this kind of run: `x.svg`, `x-quick.svg` or `x-partial.svg` (a run with --only). */
export function chartFile(file: string, quick: boolean, partial: boolean): string {
  return quick || partial ? file.replace(/\.svg$/, quick ? '-quick.svg' : '-partial.svg') : file;
}
