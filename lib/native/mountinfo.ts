import * as fs from 'fs';
import * as path from 'path';

/**
 * The mounts this process sees, from /proc/self/mountinfo (pure JS, no addon). Used to verify
 * that a mount got the options that were asked for (mount(2) can cut them silently), to find
 * containers whose mounts vanished, and to unmount what lies under a directory.
 */
export interface MountInfo {
  mountId: number;
  parentId: number;
  /** The st_dev of files on this mount, as "major:minor". */
  majorMinor: string;
  /** The directory of the filesystem that is mounted here ("/" unless a bind of a subtree). */
  root: string;
  mountPoint: string;
  /** Per-mount options ("rw,nosuid,relatime"). */
  mountOptions: string;
  /** Propagation tags like "shared:1", "master:2". */
  optionalFields: string[];
  fstype: string;
  source: string;
  /**
   * Per-superblock options as the kernel wrote them, separators intact and paths still
   * escaped (a ',' inside a path is "\054"); split them with parseMountOptions.
   */
  superOptions: string;
}

const MOUNTINFO = '/proc/self/mountinfo';

/** The kernel escapes space, tab, newline and backslash (and in options ',' and '=') as \ooo. */
function unescape(field: string): string {
  if (!field.includes('\\')) return Buffer.from(field, 'latin1').toString('utf8');
  const bytes = field.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
  return Buffer.from(bytes, 'latin1').toString('utf8');
}

/**
 * Parses the text of a mountinfo file. Takes it as latin1 so each byte is one character: fields
 * split on raw spaces (real ones are escaped), and names that are UTF-8 decode after unescaping.
 */
export function parseMountInfo(latin1Text: string): MountInfo[] {
  const out: MountInfo[] = [];
  for (const line of latin1Text.split('\n')) {
    if (!line) continue;
    const f = line.split(' ');
    const dash = f.indexOf('-', 6);
    if (dash < 0 || f.length < dash + 4) throw new Error(`unexpected line in ${MOUNTINFO}: ${JSON.stringify(line)}`);
    out.push({
      mountId: Number(f[0]),
      parentId: Number(f[1]),
      majorMinor: f[2],
      root: unescape(f[3]),
      mountPoint: unescape(f[4]),
      mountOptions: f[5],
      optionalFields: f.slice(6, dash),
      fstype: unescape(f[dash + 1]),
      source: unescape(f[dash + 2]),
      superOptions: f.slice(dash + 3).join(' '),
    });
  }
  return out;
}

/** A path as mountinfo writes it: its UTF-8 bytes as latin1, with space, tab, newline and backslash as \ooo. */
function escapePath(p: string): string {
  return Buffer.from(p, 'utf8')
    .toString('latin1')
    .replace(/[ \t\n\\]/g, (c) => '\\' + c.charCodeAt(0).toString(8).padStart(3, '0'));
}

/**
 * The topmost mount on `mountPoint` (absolute, symlinks resolved), or undefined: the last line
 * of mountinfo whose mount point it is. The text is searched for the path rather than every
 * line parsed (a machine with a thousand containers mounted has a thousand lines); where the
 * search finds no such line, every line is parsed after all.
 */
export function lastMountAt(mountPoint: string, latin1Text: string = fs.readFileSync(MOUNTINFO, 'latin1')): MountInfo | undefined {
  const needle = ' ' + escapePath(mountPoint) + ' ';
  for (let at = latin1Text.lastIndexOf(needle); at >= 0; at = at === 0 ? -1 : latin1Text.lastIndexOf(needle, at - 1)) {
    const start = latin1Text.lastIndexOf('\n', at) + 1;
    const nl = latin1Text.indexOf('\n', at);
    const [m] = parseMountInfo(latin1Text.slice(start, nl < 0 ? latin1Text.length : nl));
    if (m?.mountPoint === mountPoint) return m;
  }
  const all = parseMountInfo(latin1Text).filter((m) => m.mountPoint === mountPoint);
  return all[all.length - 1];
}

/** The mounts of this process's mount namespace, in the kernel's order (oldest first). */
export function readMountInfo(): MountInfo[] {
  return parseMountInfo(fs.readFileSync(MOUNTINFO, 'latin1'));
}

/**
 * Splits mount options into `[key, value]` pairs (value null for a flag), unescaping each part
 * after the split so escaped commas inside paths stay inside their value. Repeated keys
 * (overlay's `lowerdir+`) stay separate and in order.
 */
export function parseMountOptions(options: string): Array<[string, string | null]> {
  if (!options) return [];
  return options.split(',').map((opt): [string, string | null] => {
    const eq = opt.indexOf('=');
    return eq < 0 ? [unescape(opt), null] : [unescape(opt.slice(0, eq)), unescape(opt.slice(eq + 1))];
  });
}

/** The absolute path as mountinfo shows it: symlinks resolved when the path exists. */
function canonical(p: string): string {
  try {
    return fs.realpathSync.native(p);
  } catch {
    return path.resolve(p);
  }
}

/** Whether something is mounted on `p` itself. */
export function isMountPoint(p: string, mounts: MountInfo[] = readMountInfo()): boolean {
  const abs = canonical(p);
  return mounts.some((m) => m.mountPoint === abs);
}

/**
 * The mounts on `dir` or anywhere below it, in an order safe to unmount them one by one:
 * deeper mount points first and, where mounts are stacked on one point, the top one first.
 */
export function mountsUnder(dir: string, mounts: MountInfo[] = readMountInfo()): MountInfo[] {
  const abs = canonical(dir);
  const prefix = abs === '/' ? '/' : abs + '/';
  const depth = (p: string) => (p === '/' ? 0 : p.split('/').length - 1);
  return mounts
    .map((m, order) => ({ m, order }))
    .filter(({ m }) => m.mountPoint === abs || m.mountPoint.startsWith(prefix))
    .sort((a, b) => depth(b.m.mountPoint) - depth(a.m.mountPoint) || b.order - a.order)
    .map(({ m }) => m);
}
