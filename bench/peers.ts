import { spawnSync } from 'child_process';
import { addonStatus } from '../lib/native';

const TOOLS = ['umoci', 'skopeo', 'buildah', 'podman', 'hyperfine', 'pigz', 'zstd', 'debootstrap', 'openssl', 'sha256sum', 'gzip', 'tar', 'cp'];

export function has(tool: string): boolean {
  return spawnSync('bash', ['-c', `command -v ${tool}`], { stdio: 'ignore' }).status === 0;
}

/** Installs the peers from Debian's packages when running as root and one is missing. */
export function installPeers(): void {
  const missing = ['umoci', 'skopeo', 'buildah', 'podman', 'hyperfine', 'pigz', 'zstd', 'debootstrap'].filter((t) => !has(t));
  if (!missing.length || process.getuid?.() !== 0 || !has('apt-get')) return;
  console.log(`installing peers: ${missing.join(' ')}`);
  spawnSync('bash', ['-c', 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq umoci skopeo buildah podman hyperfine pigz zstd debootstrap'], { stdio: 'inherit' });
}

export function versions(): Record<string, string> {
  const out: Record<string, string> = { node: process.version };
  for (const t of TOOLS) {
    if (!has(t)) {
      out[t] = 'not installed';
      continue;
    }
    const r = spawnSync(t, [t === 'openssl' ? 'version' : '--version'], { encoding: 'utf8' });
    out[t] = (r.stdout || r.stderr || '').split('\n')[0].trim() || 'installed';
  }
  return out;
}

export function canMountOverlay(): boolean {
  return process.getuid?.() === 0 && addonStatus().available;
}
