import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { parseIdMap, isIdentity, toOutside, mappedFromZero, describeMap, IDENTITY } from '../../lib/userns/idmap';
import { subidRanges } from '../../lib/userns/subid';
import { planMapping, namespaceBlocker, detectRootless, RootlessFacts } from '../../lib/userns/detect';
import { identityMismatch } from '../../lib/userns/identity';

const SUB = [
  { inside: 0, outside: 1000, count: 1 },
  { inside: 1, outside: 100000, count: 65536 },
];

test('id maps: parsed from /proc, translated, measured', () => {
  expect(parseIdMap('         0       1000          1\n         1     100000      65536\n')).toEqual(SUB);
  expect(isIdentity(parseIdMap('0 0 4294967295\n'))).toBe(true);
  expect(isIdentity(SUB)).toBe(false);
  expect([toOutside(SUB, 0), toOutside(SUB, 42), toOutside(SUB, 65536), toOutside(SUB, 65537)]).toEqual([1000, 100041, 165535, null]);
  expect(mappedFromZero(SUB)).toBe(65537);
  expect(mappedFromZero([{ inside: 0, outside: 1000, count: 1 }])).toBe(1);
  expect(describeMap(SUB)).toBe('0→1000 (1), 1→100000 (65536)');
  expect(describeMap(IDENTITY)).toMatch(/identity/);
});

test('subordinate ranges: by name or uid, every line of the user, bad lines ignored', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'layerfs-subid-'));
  try {
    const f = path.join(dir, 'subuid');
    fs.writeFileSync(f, 'alice:100000:65536\nbob:165536:65536\n1000:300000:10\nalice:nope:1\nalice:5:0\n');
    expect(subidRanges(f, 'alice', 1000)).toEqual([
      { start: 100000, count: 65536 },
      { start: 300000, count: 10 },
    ]);
    expect(subidRanges(f, 'carol', 1002)).toEqual([]);
    expect(subidRanges(path.join(dir, 'missing'), 'alice', 1000)).toEqual([]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

function facts(over: Partial<RootlessFacts> = {}): RootlessFacts {
  return {
    ...detectRootless(os.tmpdir()),
    uid: 1000,
    gid: 1000,
    user: 'alice',
    kernel: '6.8.0',
    kernelAllows: true,
    maxUserNamespaces: 1000,
    apparmorRestrict: null,
    unprivilegedClone: null,
    storeFs: { magic: 0xef53, name: 'ext4' },
    subuid: [{ start: 100000, count: 65536 }],
    subgid: [{ start: 200000, count: 65536 }],
    newuidmap: { path: '/usr/bin/newuidmap', privilege: 'setuid' },
    newgidmap: { path: '/usr/bin/newgidmap', privilege: 'file capabilities' },
    unshare: '/usr/bin/unshare',
    nsenter: '/usr/bin/nsenter',
    ...over,
  };
}

test('the mapping: 0 → the user, 1… → the ranges; a single id, with the reason, where there is no range or no helper', () => {
  expect(planMapping(facts())).toEqual({
    uids: [
      { inside: 0, outside: 1000, count: 1 },
      { inside: 1, outside: 100000, count: 65536 },
    ],
    gids: [
      { inside: 0, outside: 1000, count: 1 },
      { inside: 1, outside: 200000, count: 65536 },
    ],
    single: false,
  });
  const none = planMapping(facts({ subgid: [] }));
  expect(none).toMatchObject({ single: true, uids: [{ inside: 0, outside: 1000, count: 1 }], gids: [{ inside: 0, outside: 1000, count: 1 }] });
  expect(none.warning).toMatch(/alice has no range in \/etc\/subgid/);
  expect(planMapping(facts({ newuidmap: { path: '/usr/bin/newuidmap', privilege: null } })).warning).toMatch(/newuidmap is neither setuid root nor has file capabilities/);
  expect(planMapping(facts({ newgidmap: { path: null, privilege: null } })).warning).toMatch(/newgidmap is not installed \(package uidmap\)/);
});

test('what forbids a user namespace is named', () => {
  if (namespaceBlocker(facts()) === 'mounting needs the native addon') return; // without the addon that is the answer for all
  expect(namespaceBlocker(facts())).toBeNull();
  expect(namespaceBlocker(facts({ kernelAllows: false, kernel: '5.10.0' }))).toMatch(/Linux 5.10.0 cannot mount overlayfs in a user namespace/);
  expect(namespaceBlocker(facts({ maxUserNamespaces: 0 }))).toMatch(/user.max_user_namespaces = 0/);
  expect(namespaceBlocker(facts({ unprivilegedClone: 0 }))).toMatch(/kernel.unprivileged_userns_clone = 0/);
  expect(namespaceBlocker(facts({ apparmorRestrict: 1 }))).toMatch(/AppArmor/);
  expect(namespaceBlocker(facts({ storeFs: { magic: 0x794c7630, name: 'overlay' } }))).toMatch(/store is on overlay/);
  expect(namespaceBlocker(facts({ nsenter: null }))).toMatch(/nsenter \(util-linux\) is not installed/);
});

test('a store opened with another mapping, or by another user, says what changed', () => {
  const made = { uid: 1000, gid: 1000, uids: SUB, gids: SUB };
  expect(identityMismatch(made, made)).toBeNull();
  expect(identityMismatch(made, { uid: 1000, gid: 1000, uids: IDENTITY, gids: IDENTITY })).toMatch(/made by uid 1000 in a user namespace .* opened by uid 1000 without a user namespace: use the layerfs command, `layerfs unshare`, or call enterUserNamespace\(\)/);
  expect(identityMismatch(made, { uid: 0, gid: 0, uids: IDENTITY, gids: IDENTITY })).toMatch(/opened by root: open it as uid 1000/);
  expect(identityMismatch({ uid: 0, gid: 0, uids: IDENTITY, gids: IDENTITY }, made)).toMatch(/made by root .*: open it as root/);
  const bigger = [SUB[0], { inside: 1, outside: 100000, count: 131072 }];
  expect(identityMismatch(made, { ...made, uids: bigger })).toMatch(/\/etc\/subuid/);
});
