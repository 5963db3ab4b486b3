import { InvalidArgumentError, NotFoundError } from '../errors';
import { readFileInRoot } from './confined';

/** A process's identity inside the container. */
export interface ProcessUser {
  uid: number;
  gid: number;
  additionalGids?: number[];
  /** from passwd, when the user is listed there */
  home?: string;
}

interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
}

const ID = /^\d+$/;

/**
 * The image config's `User` (`name`, `uid`, `name:group`, `uid:gid`, …, empty for root) as ids,
 * the way runc and containerd resolve it: names are looked up in the root filesystem's own
 * `/etc/passwd` and `/etc/group` (read confined to the root), numbers need no entry, and the
 * additional groups are those that list the user by name. An unknown name is an error naming it.
 */
export function resolveUser(rootfs: string, user: string | undefined): ProcessUser {
  const spec = (user ?? '').trim();
  const [u, g] = spec === '' ? ['0', undefined] : spec.split(':', 2);
  if (u === '') throw new InvalidArgumentError(`bad user ${JSON.stringify(spec)}: no user before the ":"`);
  const passwd = parsePasswd(readFileInRoot(rootfs, '/etc/passwd'));
  const entry = ID.test(u) ? passwd.find((p) => p.uid === Number(u)) : passwd.find((p) => p.name === u);
  if (!entry && !ID.test(u)) throw new NotFoundError(u, `user ${JSON.stringify(u)} is not in the image's /etc/passwd`);
  const uid = entry ? entry.uid : Number(u);
  const groups = g !== undefined || entry ? parseGroup(readFileInRoot(rootfs, '/etc/group')) : [];
  let gid: number;
  if (g === undefined || g === '') gid = entry ? entry.gid : 0;
  else if (ID.test(g)) gid = Number(g);
  else {
    const ge = groups.find((x) => x.name === g);
    if (!ge) throw new NotFoundError(g, `group ${JSON.stringify(g)} is not in the image's /etc/group`);
    gid = ge.gid;
  }
  checkId(uid, 'uid', spec);
  checkId(gid, 'gid', spec);
  const out: ProcessUser = { uid, gid };
  // an explicit group replaces the supplementary ones, as `docker run --user u:g` does
  if (entry && (g === undefined || g === '')) {
    const extra = [...new Set(groups.filter((x) => x.members.includes(entry.name) && x.gid !== gid).map((x) => x.gid))];
    if (extra.length) out.additionalGids = extra;
  }
  if (entry) out.home = entry.home;
  return out;
}

function checkId(n: number, what: string, spec: string): void {
  if (!Number.isSafeInteger(n) || n < 0 || n > 0xfffffffe) throw new InvalidArgumentError(`bad user ${JSON.stringify(spec)}: ${what} ${n} is out of range`);
}

function lines(b: Buffer | null): string[][] {
  if (!b) return [];
  return b
    .toString('utf8')
    .split('\n')
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => l.split(':'));
}

function parsePasswd(b: Buffer | null): PasswdEntry[] {
  return lines(b)
    .filter((f) => f.length >= 4 && ID.test(f[2]) && ID.test(f[3]))
    .map((f) => ({ name: f[0], uid: Number(f[2]), gid: Number(f[3]), home: f[5] || '/' }));
}

function parseGroup(b: Buffer | null): GroupEntry[] {
  return lines(b)
    .filter((f) => f.length >= 3 && ID.test(f[2]))
    .map((f) => ({ name: f[0], gid: Number(f[2]), members: (f[3] ?? '').split(',').filter(Boolean) }));
}
