import type { Platform } from './types';

const NODE_ARCH: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64', loong64: 'loong64', mips: 'mips', mipsel: 'mipsle' };
const ARCH_ALIASES: Record<string, string> = { x86_64: 'amd64', 'x86-64': 'amd64', aarch64: 'arm64', armhf: 'arm', armel: 'arm', i386: '386', i686: '386' };

/** This machine's platform as OCI names it: images are Linux ones whatever the host. */
export function hostPlatform(): Platform & { os: string; architecture: string } {
  const architecture = NODE_ARCH[process.arch] ?? process.arch;
  const armVersion = (process.config.variables as Record<string, unknown>).arm_version;
  return architecture === 'arm' && armVersion ? { os: 'linux', architecture, variant: `v${String(armVersion)}` } : { os: 'linux', architecture };
}

function normalArch(a: string): string {
  return ARCH_ALIASES[a] ?? a;
}

/** arm64's variant defaults to v8: `linux/arm64` and `linux/arm64/v8` are one platform. */
function normalVariant(arch: string, v: string | undefined): string | undefined {
  return normalArch(arch) === 'arm64' && v === 'v8' ? undefined : v;
}

/** Does `have` satisfy every field `want` names? */
export function platformMatches(have: Platform, want: Platform): boolean {
  if (want.os !== undefined && have.os !== want.os) return false;
  if (want.architecture !== undefined && normalArch(have.architecture ?? '') !== normalArch(want.architecture)) return false;
  if (want.variant !== undefined && normalVariant(have.architecture ?? '', have.variant) !== normalVariant(want.architecture ?? have.architecture ?? '', want.variant)) return false;
  return true;
}

export function platformString(p: Platform | undefined): string {
  if (!p) return 'no platform';
  return [p.os ?? '?', p.architecture ?? '?', p.variant].filter(Boolean).join('/');
}

/** `linux/arm64/v8`, `linux/amd64`, `arm64` (os linux) into a Platform. */
export function parsePlatform(s: string): Platform {
  const parts = s.split('/');
  if (parts.length === 1) return { os: 'linux', architecture: parts[0] };
  const [os, architecture, variant] = parts;
  return variant ? { os, architecture, variant } : { os, architecture };
}
