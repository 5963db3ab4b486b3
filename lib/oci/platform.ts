import { InvalidArgumentError } from '../errors';

/**
 * Platforms as OCI names them (image-spec image-index.md), and which images a machine can run,
 * following containerd's `platforms` package: names are normalized (aarch64 is arm64, x86_64
 * amd64, armhf arm/v7, arm64/v8 plain arm64, arm plain arm/v7), and a platform also runs older
 * variants of its family (arm/v7 runs v6 and v5; arm64 runs arm/v8 down to v5; amd64/v3 runs v2
 * and v1, and every amd64 runs 386), the exact one first. No I/O: the host is a parameter.
 */
export interface Platform {
  os?: string;
  architecture?: string;
  variant?: string;
  'os.version'?: string;
  'os.features'?: string[];
}

/** A platform with every field decided and normalized; `variant` is absent when it is the default one. */
export interface NormalPlatform {
  os: string;
  architecture: string;
  variant?: string;
}

const KNOWN_OS = new Set(['aix', 'android', 'darwin', 'dragonfly', 'freebsd', 'hurd', 'illumos', 'ios', 'js', 'linux', 'nacl', 'netbsd', 'openbsd', 'plan9', 'solaris', 'windows', 'zos']);
const KNOWN_ARCH = new Set(['386', 'amd64', 'amd64p32', 'arm', 'armbe', 'arm64', 'arm64be', 'ppc64', 'ppc64le', 'loong64', 'mips', 'mipsle', 'mips64', 'mips64le', 'mips64p32', 'mips64p32le', 'ppc', 'riscv', 'riscv64', 's390', 's390x', 'sparc', 'sparc64', 'wasm']);

/** Node's names for architectures, as OCI spells them. */
const NODE_ARCH: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64', loong64: 'loong64', mips: 'mips', mipsel: 'mipsle' };

export function normalizeOs(os: string): string {
  const o = os.toLowerCase();
  return o === 'macos' ? 'darwin' : o;
}

/** containerd's normalizeArch: the canonical architecture and variant ('' when it is the default). */
export function normalizeArch(arch: string, variant = ''): { architecture: string; variant: string } {
  const a = arch.toLowerCase();
  let v = variant.toLowerCase();
  switch (a) {
    case 'i386':
      return { architecture: '386', variant: '' };
    case 'x86_64':
    case 'x86-64':
    case 'amd64':
      return { architecture: 'amd64', variant: v === 'v1' ? '' : v };
    case 'aarch64':
    case 'arm64':
      if (v === '8' || v === 'v8' || v === 'v8.0') v = '';
      else if (v === '9' || v === '9.0' || v === 'v9.0') v = 'v9';
      return { architecture: 'arm64', variant: v };
    case 'armhf':
      return { architecture: 'arm', variant: 'v7' };
    case 'armel':
      return { architecture: 'arm', variant: 'v6' };
    case 'arm':
      if (v === '' || v === '7') v = 'v7';
      else if (v === '5' || v === '6' || v === '8') v = 'v' + v;
      return { architecture: 'arm', variant: v };
    default:
      return { architecture: a, variant: v };
  }
}

function normal(os: string, arch: string, variant: string | undefined): NormalPlatform {
  const n = normalizeArch(arch, variant ?? '');
  const out: NormalPlatform = { os: normalizeOs(os), architecture: n.architecture };
  if (n.variant) out.variant = n.variant;
  return out;
}

/**
 * The platform `p` names, every field decided: what it leaves out is the host's (the host's
 * variant only for the host's own architecture).
 */
export function normalizePlatform(p: Platform, host: NormalPlatform): NormalPlatform {
  const arch = p.architecture ?? host.architecture;
  const sameArch = normalizeArch(arch).architecture === host.architecture;
  return normal(p.os ?? host.os, arch, p.variant ?? (p.architecture === undefined || sameArch ? host.variant : undefined));
}

/** This machine's platform as OCI names it (the images it runs are Linux ones whatever the host). */
export function hostPlatform(arch: string = process.arch, armVersion: unknown = (process.config.variables as Record<string, unknown>).arm_version): NormalPlatform {
  const architecture = NODE_ARCH[arch] ?? arch;
  return normal('linux', architecture, architecture === 'arm' && armVersion ? `v${String(armVersion)}` : undefined);
}

/** arm64 variants, each with the older ones it runs (containerd's table). */
function arm64Variants(variant: string): string[] | null {
  const m = /^v(8|9)(?:\.(\d))?$/.exec(variant);
  if (!m) return null;
  const major = Number(m[1]);
  const minor = Number(m[2] ?? 0);
  if (minor > 9 || (major === 9 && minor > 7)) return null;
  const name = (maj: number, min: number) => (min === 0 ? `v${maj}` : `v${maj}.${min}`);
  const out: string[] = [];
  if (major === 9) for (let i = minor; i >= 0; i--) out.push(name(9, i));
  for (let i = major === 9 ? Math.min(minor + 5, 9) : minor; i >= 0; i--) out.push(name(8, i));
  return out;
}

/** containerd's platformVector: the platforms a machine of `p` runs, best first, each normalized. */
export function compatiblePlatforms(p: NormalPlatform): NormalPlatform[] {
  const out: NormalPlatform[] = [p];
  const at = (architecture: string, variant?: string) => normal(p.os, architecture, variant);
  const version = (v: string | undefined) => (v && /^v\d+$/.test(v) ? Number(v.slice(1)) : NaN);
  switch (p.architecture) {
    case 'amd64': {
      for (let n = version(p.variant) - 1; n >= 1; n--) out.push(at('amd64', `v${n}`));
      out.push(at('386'));
      break;
    }
    case 'arm': {
      for (let n = version(p.variant) - 1; n >= 5; n--) out.push(at('arm', `v${n}`));
      break;
    }
    case 'arm64': {
      const variants = arm64Variants(p.variant ?? 'v8');
      if (!variants) break;
      out.length = 0;
      for (const v of variants) out.push(at('arm64', v));
      // every arm64 runs 32-bit arm up to v8
      out.push(...compatiblePlatforms(at('arm', 'v8')));
      break;
    }
  }
  return out;
}

/** Same os, architecture and variant once both are normalized. */
function samePlatform(a: NormalPlatform, b: NormalPlatform): boolean {
  return a.os === b.os && a.architecture === b.architecture && (a.variant ?? '') === (b.variant ?? '');
}

/**
 * How well an image for `have` suits a machine of `want`: 0 is an exact match, higher is an
 * older variant the machine also runs, -1 is one it does not run. `have` is taken as written
 * (a field it leaves out is the default one: arm is arm/v7, amd64 is amd64/v1).
 */
export function platformRank(have: Platform, want: NormalPlatform): number {
  if (have.architecture === undefined || have.os === undefined) return -1;
  const h = normal(have.os, have.architecture, have.variant);
  return compatiblePlatforms(want).findIndex((c) => samePlatform(c, h));
}

export function platformMatches(have: Platform, want: NormalPlatform): boolean {
  return platformRank(have, want) >= 0;
}

export function platformString(p: Platform | undefined): string {
  if (!p) return 'no platform';
  return [p.os ?? '?', p.architecture ?? '?', p.variant].filter(Boolean).join('/');
}

/**
 * `os/arch[/variant]`, or one word: an OS (this machine's architecture) or an architecture (Linux),
 * as containerd's platforms.Parse reads them. Normalized: `arm64` is linux/arm64.
 */
export function parsePlatform(s: string, host: NormalPlatform = hostPlatform()): NormalPlatform {
  const parts = s.split('/');
  const bad = (why: string) => new InvalidArgumentError(`bad platform ${JSON.stringify(s)}: ${why} (expected os/architecture[/variant], e.g. linux/arm64 or linux/arm/v7)`);
  if (parts.length > 3 || parts.some((x) => !/^[A-Za-z0-9_.-]+$/.test(x))) throw bad('not one to three names separated by "/"');
  if (parts.length === 1) {
    const word = parts[0];
    if (KNOWN_OS.has(normalizeOs(word))) return normalizePlatform({ os: word }, host);
    if (KNOWN_ARCH.has(normalizeArch(word).architecture)) return normal(host.os, word, undefined);
    throw bad('an unknown operating system or architecture');
  }
  const [os, architecture, variant] = parts;
  if (!KNOWN_OS.has(normalizeOs(os))) throw bad(`unknown operating system ${JSON.stringify(os)}`);
  return normal(os, architecture, variant);
}
