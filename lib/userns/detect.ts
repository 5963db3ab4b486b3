import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as native from '../native';
import { subidRanges, SubidRange } from './subid';
import { IdMap } from './idmap';

/** What decides whether this user can have a user namespace with overlay mounts (see detectRootless). */
export interface RootlessFacts {
  uid: number;
  gid: number;
  user: string;
  kernel: string;
  /** overlayfs mounts in a user namespace came with Linux 5.11 (`userxattr`) */
  kernelAllows: boolean;
  /** user.max_user_namespaces (0 forbids them) */
  maxUserNamespaces: number | null;
  /** kernel.apparmor_restrict_unprivileged_userns, where it exists (1: no capabilities in a new user namespace) */
  apparmorRestrict: number | null;
  /** kernel.unprivileged_userns_clone, a Debian and Ubuntu patch (0 forbids them) */
  unprivilegedClone: number | null;
  /** the filesystem under the store (statfs magic and its name) */
  storeFs: { magic: number; name: string };
  subuid: SubidRange[];
  subgid: SubidRange[];
  newuidmap: HelperFacts;
  newgidmap: HelperFacts;
  unshare: string | null;
  nsenter: string | null;
  /** LAYERFS_USERNS=off: the user asks for no user namespace (the copy driver, owners kept in xattrs) */
  switchedOff: boolean;
}

/** The environment switch that says never to use a user namespace. */
export const USERNS_SWITCH = 'LAYERFS_USERNS';

export interface HelperFacts {
  path: string | null;
  /** how it may write another user's ids: setuid root, file capabilities, or not at all */
  privilege: 'setuid' | 'file capabilities' | null;
}

const FS_NAMES: Record<number, string> = {
  0xef53: 'ext4',
  0x58465342: 'xfs',
  0x9123683e: 'btrfs',
  0x01021994: 'tmpfs',
  0x794c7630: 'overlay',
  0x6969: 'nfs',
  0x65735546: 'fuse',
  0x2fc12fc1: 'zfs',
  0xf2f52010: 'f2fs',
  0x858458f6: 'ramfs',
};

export function which(name: string, envPath = process.env.PATH ?? '/usr/bin:/bin'): string | null {
  for (const dir of [...envPath.split(':'), '/usr/sbin', '/usr/bin', '/sbin', '/bin']) {
    if (!dir) continue;
    const p = path.join(dir, name);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      if (fs.statSync(p).isFile()) return p;
    } catch {
      // not here
    }
  }
  return null;
}

function sysctl(name: string): number | null {
  try {
    const n = Number(fs.readFileSync(`/proc/sys/${name}`, 'utf8').trim());
    return Number.isFinite(n) ? n : null;
  } catch {
    return null;
  }
}

function helper(name: string): HelperFacts {
  const p = which(name);
  if (!p) return { path: null, privilege: null };
  const st = fs.statSync(p);
  if (st.uid === 0 && st.mode & 0o4000) return { path: p, privilege: 'setuid' };
  try {
    if (native.available() && native.lgetxattrSync(p, 'security.capability')) return { path: p, privilege: 'file capabilities' };
  } catch {
    // no capabilities to read
  }
  return { path: p, privilege: null };
}

function kernelAtLeast(release: string, major: number, minor: number): boolean {
  const m = /^(\d+)\.(\d+)/.exec(release);
  if (!m) return false;
  return Number(m[1]) > major || (Number(m[1]) === major && Number(m[2]) >= minor);
}

/** The nearest existing directory at or above `dir` (the store may not exist yet). */
function existingAbove(dir: string): string {
  let d = path.resolve(dir);
  while (!fs.existsSync(d) && path.dirname(d) !== d) d = path.dirname(d);
  return d;
}

/** Reads every fact; cheap (files under /proc and /etc, two stats, one statfs), so not cached. */
export function detectRootless(storeDir: string): RootlessFacts {
  const info = os.userInfo();
  const magic = fs.statfsSync(existingAbove(storeDir)).type;
  return {
    uid: info.uid,
    gid: info.gid,
    user: info.username,
    kernel: os.release(),
    kernelAllows: kernelAtLeast(os.release(), 5, 11),
    maxUserNamespaces: sysctl('user/max_user_namespaces'),
    apparmorRestrict: sysctl('kernel/apparmor_restrict_unprivileged_userns'),
    unprivilegedClone: sysctl('kernel/unprivileged_userns_clone'),
    storeFs: { magic, name: FS_NAMES[magic] ?? `0x${magic.toString(16)}` },
    subuid: subidRanges('/etc/subuid', info.username, info.uid),
    subgid: subidRanges('/etc/subgid', info.username, info.gid),
    newuidmap: helper('newuidmap'),
    newgidmap: helper('newgidmap'),
    unshare: which('unshare'),
    nsenter: which('nsenter'),
    switchedOff: process.env[USERNS_SWITCH] === 'off',
  };
}

/** Why this user cannot have a user namespace with overlay mounts here, or null. */
export function namespaceBlocker(f: RootlessFacts): string | null {
  if (f.switchedOff) return `${USERNS_SWITCH}=off says to use no user namespace`;
  if (!native.available()) return 'mounting needs the native addon';
  if (!f.kernelAllows) return `Linux ${f.kernel} cannot mount overlayfs in a user namespace (5.11 or later can)`;
  if (f.maxUserNamespaces === 0) return 'user namespaces are off (user.max_user_namespaces = 0)';
  if (f.unprivilegedClone === 0) return 'unprivileged user namespaces are off (kernel.unprivileged_userns_clone = 0)';
  if (f.apparmorRestrict === 1) return 'AppArmor restricts unprivileged user namespaces (kernel.apparmor_restrict_unprivileged_userns = 1): they get no capabilities, so no mounts';
  if (f.storeFs.name === 'overlay' || f.storeFs.name === 'nfs' || f.storeFs.name === 'fuse') return `the store is on ${f.storeFs.name}, which cannot hold an overlay upper directory`;
  if (!f.unshare || !f.nsenter) return `${!f.unshare ? 'unshare' : 'nsenter'} (util-linux) is not installed`;
  return null;
}

/** The mapping a new namespace gets: 0 → the user, 1… → the subordinate ranges, or 0 → the user alone. */
export interface MappingPlan {
  uids: IdMap;
  gids: IdMap;
  /** only the user's own id is mapped: owners other than 0 are kept in an xattr */
  single: boolean;
  /** why it is single, when it is */
  warning?: string;
}

export function planMapping(f: RootlessFacts): MappingPlan {
  const ranges = (own: number, subs: SubidRange[]): IdMap => {
    const out: IdMap = [{ inside: 0, outside: own, count: 1 }];
    let next = 1;
    for (const s of subs) {
      out.push({ inside: next, outside: s.start, count: s.count });
      next += s.count;
    }
    return out;
  };
  const single = (why: string): MappingPlan => ({
    uids: [{ inside: 0, outside: f.uid, count: 1 }],
    gids: [{ inside: 0, outside: f.gid, count: 1 }],
    single: true,
    warning: `${why}: only uid ${f.uid} is mapped (to 0) in the user namespace, so other owners of image files are kept in the user.rootlesscontainers xattr`,
  });
  if (!f.subuid.length || !f.subgid.length) return single(`${f.user} has no range in ${!f.subuid.length ? '/etc/subuid' : '/etc/subgid'}`);
  if (!f.newuidmap.privilege || !f.newgidmap.privilege) {
    const h = !f.newuidmap.privilege ? f.newuidmap : f.newgidmap;
    const name = h === f.newuidmap ? 'newuidmap' : 'newgidmap';
    return single(h.path ? `${h.path} is neither setuid root nor has file capabilities` : `${name} is not installed (package uidmap)`);
  }
  return { uids: ranges(f.uid, f.subuid), gids: ranges(f.gid, f.subgid), single: false };
}
