import { compatiblePlatforms, hostPlatform, normalizePlatform, parsePlatform, platformRank, platformString } from '../../lib/oci';
import type { NormalPlatform } from '../../lib/oci';

/** containerd's platforms package is the model: its normalization, parsing and variant fallbacks. */
const amd64Host: NormalPlatform = { os: 'linux', architecture: 'amd64' };
const s = (ps: NormalPlatform[]) => ps.map(platformString);

describe('parsePlatform', () => {
  test.each([
    ['linux/arm/v7', 'linux/arm/v7'],
    ['linux/arm', 'linux/arm/v7'],
    ['linux/arm/7', 'linux/arm/v7'],
    ['linux/arm/v6', 'linux/arm/v6'],
    ['linux/armhf', 'linux/arm/v7'],
    ['linux/armel', 'linux/arm/v6'],
    ['linux/arm64', 'linux/arm64'],
    ['linux/arm64/v8', 'linux/arm64'],
    ['linux/aarch64', 'linux/arm64'],
    ['linux/arm64/v9.0', 'linux/arm64/v9'],
    ['linux/x86_64', 'linux/amd64'],
    ['linux/amd64/v1', 'linux/amd64'],
    ['linux/amd64/v3', 'linux/amd64/v3'],
    ['linux/i386', 'linux/386'],
    ['Linux/AMD64', 'linux/amd64'],
    ['macos/arm64', 'darwin/arm64'],
    // one word: an architecture (on Linux) or an OS (on this machine's architecture)
    ['arm64', 'linux/arm64'],
    ['aarch64', 'linux/arm64'],
    ['armhf', 'linux/arm/v7'],
    ['x86_64', 'linux/amd64'],
    ['riscv64', 'linux/riscv64'],
    ['windows', 'windows/amd64'],
  ])('%s is %s', (input, want) => {
    expect(platformString(parsePlatform(input, amd64Host))).toBe(want);
  });

  test.each(['', 'bogus', 'linux/', '/amd64', 'linux/amd64/v3/x', 'nosuchos/amd64', 'linux/amd 64'])('%j is refused, naming it', (input) => {
    expect(() => parsePlatform(input, amd64Host)).toThrow(expect.objectContaining({ code: 'LAYERFS_INVALID_ARGUMENT', message: expect.stringContaining(JSON.stringify(input)) }));
  });
});

describe('compatiblePlatforms: what a machine runs, best first', () => {
  test('arm/v8 runs v7, v6 and v5; arm/v7 runs v6 and v5; arm/v5 only itself', () => {
    expect(s(compatiblePlatforms(parsePlatform('linux/arm/v8')))).toEqual(['linux/arm/v8', 'linux/arm/v7', 'linux/arm/v6', 'linux/arm/v5']);
    expect(s(compatiblePlatforms(parsePlatform('linux/arm/v7')))).toEqual(['linux/arm/v7', 'linux/arm/v6', 'linux/arm/v5']);
    expect(s(compatiblePlatforms(parsePlatform('linux/arm/v5')))).toEqual(['linux/arm/v5']);
  });

  test('arm64 (v8) runs 32-bit arm v8 and below; arm64/v9 runs v8.5 and below first', () => {
    expect(s(compatiblePlatforms(parsePlatform('linux/arm64')))).toEqual(['linux/arm64', 'linux/arm/v8', 'linux/arm/v7', 'linux/arm/v6', 'linux/arm/v5']);
    expect(s(compatiblePlatforms(parsePlatform('linux/arm64/v8.2')))).toEqual(['linux/arm64/v8.2', 'linux/arm64/v8.1', 'linux/arm64', 'linux/arm/v8', 'linux/arm/v7', 'linux/arm/v6', 'linux/arm/v5']);
    expect(s(compatiblePlatforms(parsePlatform('linux/arm64/v9')))).toEqual([
      'linux/arm64/v9',
      ...[5, 4, 3, 2, 1].map((n) => `linux/arm64/v8.${n}`),
      'linux/arm64',
      'linux/arm/v8',
      'linux/arm/v7',
      'linux/arm/v6',
      'linux/arm/v5',
    ]);
  });

  test('amd64/v3 runs v2 and v1; every amd64 runs 386', () => {
    expect(s(compatiblePlatforms(parsePlatform('linux/amd64/v3')))).toEqual(['linux/amd64/v3', 'linux/amd64/v2', 'linux/amd64', 'linux/386']);
    expect(s(compatiblePlatforms(parsePlatform('linux/amd64')))).toEqual(['linux/amd64', 'linux/386']);
    expect(s(compatiblePlatforms(parsePlatform('linux/riscv64')))).toEqual(['linux/riscv64']);
  });
});

describe('platformRank: an image platform as written in an index, against a machine', () => {
  const want = (p: string) => parsePlatform(p, amd64Host);
  test('exact first, then older variants, never newer ones or another OS', () => {
    expect(platformRank({ os: 'linux', architecture: 'arm', variant: 'v7' }, want('linux/arm/v7'))).toBe(0);
    expect(platformRank({ os: 'linux', architecture: 'arm', variant: 'v6' }, want('linux/arm/v7'))).toBe(1);
    expect(platformRank({ os: 'linux', architecture: 'arm', variant: 'v7' }, want('linux/arm/v6'))).toBe(-1);
    expect(platformRank({ os: 'linux', architecture: 'arm' }, want('linux/arm/v7'))).toBe(0);
    expect(platformRank({ os: 'linux', architecture: 'arm64', variant: 'v8' }, want('arm64'))).toBe(0);
    expect(platformRank({ os: 'linux', architecture: 'aarch64' }, want('arm64'))).toBe(0);
    expect(platformRank({ os: 'linux', architecture: 'arm', variant: 'v7' }, want('arm64'))).toBe(2);
    expect(platformRank({ os: 'linux', architecture: 'amd64', variant: 'v1' }, want('amd64'))).toBe(0);
    expect(platformRank({ os: 'linux', architecture: 'amd64', variant: 'v3' }, want('amd64'))).toBe(-1);
    expect(platformRank({ os: 'linux', architecture: '386' }, want('amd64'))).toBe(1);
    expect(platformRank({ os: 'windows', architecture: 'amd64' }, want('linux/amd64'))).toBe(-1);
    expect(platformRank({ os: 'unknown', architecture: 'unknown' }, want('linux/amd64'))).toBe(-1);
    expect(platformRank({ architecture: 'amd64' }, want('linux/amd64'))).toBe(-1);
  });
});

describe('the host and partial platforms', () => {
  test("Node's names become OCI's, with arm's variant from the build", () => {
    expect(hostPlatform('x64')).toEqual({ os: 'linux', architecture: 'amd64' });
    expect(hostPlatform('arm64')).toEqual({ os: 'linux', architecture: 'arm64' });
    expect(hostPlatform('arm', 6)).toEqual({ os: 'linux', architecture: 'arm', variant: 'v6' });
    expect(hostPlatform('arm', undefined)).toEqual({ os: 'linux', architecture: 'arm', variant: 'v7' });
    expect(hostPlatform('ia32')).toEqual({ os: 'linux', architecture: '386' });
  });

  test('what a platform leaves out is the host’s; the host’s variant only for its own architecture', () => {
    const armHost: NormalPlatform = { os: 'linux', architecture: 'arm', variant: 'v6' };
    expect(normalizePlatform({ os: 'windows' }, amd64Host)).toEqual({ os: 'windows', architecture: 'amd64' });
    expect(normalizePlatform({ architecture: 'aarch64' }, amd64Host)).toEqual({ os: 'linux', architecture: 'arm64' });
    expect(normalizePlatform({ architecture: 'arm' }, armHost)).toEqual({ os: 'linux', architecture: 'arm', variant: 'v6' });
    expect(normalizePlatform({ architecture: 'arm' }, amd64Host)).toEqual({ os: 'linux', architecture: 'arm', variant: 'v7' });
    expect(normalizePlatform({}, armHost)).toEqual(armHost);
  });
});
