/** The peer programs: installed once from Debian's packages, probed, and their versions reported. */
import * as fs from 'fs';
import { spawnSync } from 'child_process';
import { addonStatus } from '../lib/native';

const PACKAGES = ['umoci', 'skopeo', 'buildah', 'podman', 'containerd', 'runc', 'hyperfine', 'pigz', 'zstd', 'debootstrap', 'strace', 'time'];
/** programs whose name is also a shell builtin: looked for at their path (GNU time gives a CLI line its CPU and peak RSS) */
const PROGRAM_PATH: Record<string, string> = { time: '/usr/bin/time' };
/** programs that come in a package of another name */
const PACKAGE_OF: Record<string, string> = { ctr: 'containerd' };
/** program -> how to ask its version */
const VERSION_ARGS: Record<string, string[]> = {
  umoci: ['--version'],
  skopeo: ['--version'],
  buildah: ['--version'],
  podman: ['--version'],
  containerd: ['--version'],
  ctr: ['--version'],
  runc: ['--version'],
  hyperfine: ['--version'],
  strace: ['-V'],
  time: ['--version'],
  pigz: ['--version'],
  zstd: ['--version'],
  debootstrap: ['--version'],
  openssl: ['version'],
  sha256sum: ['--version'],
  gzip: ['--version'],
  tar: ['--version'],
  cp: ['--version'],
  'mkfs.xfs': ['-V'],
};

export interface Peers {
  /** why `tool` cannot be used here, or undefined when it can */
  missing(tool: string): string | undefined;
  versions(): Record<string, string>;
  /** why layerfs cannot mount overlays here, or undefined when it can */
  noOverlay: string | undefined;
}

function onPath(tool: string): boolean {
  if (PROGRAM_PATH[tool]) return fs.existsSync(PROGRAM_PATH[tool]);
  return spawnSync('bash', ['-c', `command -v ${tool}`], { stdio: 'ignore' }).status === 0;
}

/** Installs the missing peers with apt-get when running as root; a failure only leaves them missing. */
export function installPeers(): void {
  const missing = PACKAGES.filter((t) => !onPath(t));
  if (!missing.length) return;
  if (process.getuid?.() !== 0 || !onPath('apt-get')) {
    console.log(`peers missing (not root, or no apt-get; their lines will say so): ${missing.join(' ')}`);
    return;
  }
  console.log(`installing peers: ${missing.join(' ')}`);
  const r = spawnSync('bash', ['-c', `apt-get install -y -qq ${PACKAGES.join(' ')} >/dev/null || (apt-get update -qq && apt-get install -y -qq ${PACKAGES.join(' ')} >/dev/null)`], {
    stdio: ['ignore', 'inherit', 'inherit'],
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
  if (r.status !== 0) console.log('  apt-get failed; the missing peers are reported as missing');
}

export function probePeers(): Peers {
  const cache = new Map<string, boolean>();
  const has = (t: string) => {
    if (!cache.has(t)) cache.set(t, onPath(t));
    return cache.get(t)!;
  };
  const addon = addonStatus();
  const noOverlay = process.getuid?.() !== 0 ? 'overlay mounts need root here' : !addon.available ? `the native addon is not available (${addon.reason})` : undefined;
  return {
    missing(t) {
      if (has(t)) return undefined;
      const pkg = PACKAGE_OF[t] ?? t;
      if (!PACKAGES.includes(pkg)) return `${t} is not installed`;
      // the bench installs its peers itself: say why that did not happen
      return `${t} is not installed (the bench apt-get installs the Debian package ${pkg} when run as root${process.getuid?.() !== 0 ? '; this run is not root' : !has('apt-get') ? '; there is no apt-get here' : ', and that failed'})`;
    },
    noOverlay,
    versions() {
      const out: Record<string, string> = { node: process.version };
      for (const [t, args] of Object.entries(VERSION_ARGS)) {
        if (!has(t)) {
          out[t] = 'not installed';
          continue;
        }
        const r = spawnSync(t, args, { encoding: 'utf8' });
        out[t] = ((r.stdout || '') + (r.stderr || '')).split('\n').find((l) => l.trim())?.trim() ?? 'installed';
      }
      return out;
    },
  };
}
