import { mappedFromZero, readIdMaps, isIdentity } from './idmap';

/**
 * Single-uid mode: in a user namespace where only the user's own id is mapped (to 0), no file
 * can be given another owner. The owner the image gives it is kept in the
 * `user.rootlesscontainers` xattr instead, in umoci's encoding (the protobuf message
 * `Resource { uint32 uid = 1; uint32 gid = 2; }`, a zero field left out as proto3 does), so
 * umoci reads our layer directories as we read its. It is bookkeeping, never layer content: a
 * tar that carries it is not obeyed on import, and a pack reads it as the owner and leaves it out.
 */
export const OWNER_XATTR = 'user.rootlesscontainers';

export interface Owner {
  uid: number;
  gid: number;
}

function varint(n: number): number[] {
  const out: number[] = [];
  let v = n >>> 0;
  while (v >= 0x80) {
    out.push((v & 0x7f) | 0x80);
    v >>>= 7;
  }
  out.push(v);
  return out;
}

export function encodeOwner(o: Owner): Buffer {
  const bytes: number[] = [];
  if (o.uid !== 0) bytes.push(0x08, ...varint(o.uid));
  if (o.gid !== 0) bytes.push(0x10, ...varint(o.gid));
  return Buffer.from(bytes);
}

/** The owner an xattr value holds; null for bytes that are not such a message. */
export function decodeOwner(b: Buffer): Owner | null {
  const o: Owner = { uid: 0, gid: 0 };
  let i = 0;
  while (i < b.length) {
    const key = b[i++];
    let v = 0;
    let shift = 0;
    for (;;) {
      if (i >= b.length || shift > 28) return null;
      const c = b[i++];
      v += (c & 0x7f) * 2 ** shift;
      shift += 7;
      if (!(c & 0x80)) break;
    }
    // umoci's "no change" value (2^32 - 1) reads as 0 here: the owner it did not change is root's
    if (key === 0x08) o.uid = v === 0xffffffff ? 0 : v;
    else if (key === 0x10) o.gid = v === 0xffffffff ? 0 : v;
    else return null;
  }
  return o;
}

let single: boolean | undefined;

/** This process is in a user namespace that maps only one uid or gid (0): owners go in OWNER_XATTR. */
export function singleIdNamespace(): boolean {
  if (single === undefined) {
    try {
      const { uids, gids } = readIdMaps();
      single = !isIdentity(uids) && (mappedFromZero(uids) <= 1 || mappedFromZero(gids) <= 1);
    } catch {
      single = false;
    }
  }
  return single;
}

let host: boolean | undefined;

/**
 * Single-uid mode without a namespace: an ordinary user outside any user namespace (none can be
 * had, or LAYERFS_USERNS=off) can give no file another owner and make no device. As in a
 * single-id namespace, the owner the image gives a file and its device are kept in xattrs
 * (OWNER_XATTR, DEVICE_XATTR); the files are the user's own, and a pack reads the user's own
 * uid and gid as 0 where no xattr says otherwise (a new file is 0:0 in a commit, as inside a namespace).
 */
export function unprivilegedHost(): boolean {
  if (host === undefined) {
    try {
      host = process.geteuid?.() !== 0 && isIdentity(readIdMaps().uids);
    } catch {
      host = false;
    }
  }
  return host;
}

/**
 * What an entry of single-uid mode stands for, as a pack reads it back: the owner from OWNER_XATTR
 * (else the user's own ids as 0, with no namespace) and the device from DEVICE_XATTR. `st` is
 * returned as it is where owners are not kept aside.
 */
export function standsFor(st: Owner, isFile: boolean, xattrs: Record<string, Buffer>): Owner & { device?: DeviceNode } {
  const out: Owner & { device?: DeviceNode } = { uid: st.uid, gid: st.gid };
  const host = unprivilegedHost();
  if (ownersInXattr()) {
    const o = xattrs[OWNER_XATTR] ? decodeOwner(xattrs[OWNER_XATTR]) : null;
    if (o) Object.assign(out, o);
    else if (host) {
      if (out.uid === process.geteuid!()) out.uid = 0;
      if (out.gid === process.getegid!()) out.gid = 0;
    }
  }
  if (isFile && xattrs[DEVICE_XATTR] && (host || !isIdentity(readIdMaps().uids))) {
    const d = decodeDevice(xattrs[DEVICE_XATTR]);
    if (d) out.device = d;
  }
  return out;
}

/** Owners other than the process's own go in OWNER_XATTR: a single-id namespace, or an ordinary user with none. */
export function ownersInXattr(): boolean {
  return singleIdNamespace() || unprivilegedHost();
}

/**
 * In a user namespace no device node can be made (mknod(2) needs CAP_MKNOD of the initial
 * namespace). umoci then extracts an empty file in its place, with a warning, and loses the
 * device when it repacks (a TODO of its tar_extract.go: "the concept of a fake block device in
 * user.rootlesscontainers"). Here the empty file keeps the device's permission bits, owner
 * (OWNER_XATTR in single-uid mode), times and xattrs, and this xattr says what it stands for:
 * `c MAJOR MINOR` or `b MAJOR MINOR`. A pack in a user namespace (diff, commit, export, fsck's
 * re-pack) gives the device entry back. Like OWNER_XATTR it is bookkeeping, never layer content:
 * a layer that carries it is not obeyed, and a pack leaves it out.
 */
export const DEVICE_XATTR = 'user.layerfs.device';

export interface DeviceNode {
  type: 'char' | 'block';
  major: number;
  minor: number;
}

export function encodeDevice(d: DeviceNode): Buffer {
  return Buffer.from(`${d.type === 'char' ? 'c' : 'b'} ${d.major} ${d.minor}`, 'latin1');
}

/** The device a placeholder stands for; null for a value that is not `c|b MAJOR MINOR`. */
export function decodeDevice(b: Buffer): DeviceNode | null {
  const m = /^([cb]) (0|[1-9][0-9]{0,9}) (0|[1-9][0-9]{0,9})$/.exec(b.toString('latin1'));
  if (!m) return null;
  const major = Number(m[2]);
  const minor = Number(m[3]);
  if (major > 0xfffff || minor > 0xfffff) return null;
  return { type: m[1] === 'c' ? 'char' : 'block', major, minor };
}
