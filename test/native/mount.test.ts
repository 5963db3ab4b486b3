import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as native from '../../lib/native';

const status = native.addonStatus();
const isRoot = process.getuid?.() === 0;
const canMount = status.available && isRoot;
const itMount = canMount ? it : it.skip;
const itNewApi = canMount && native.hasNewMountApi() ? it : it.skip;
if (!status.available) console.warn(`mount tests skipped: the native addon is unavailable (${status.reason})`);
else if (!isRoot) console.warn('mount tests skipped: they need root');
else if (!native.hasNewMountApi()) console.warn('fsmount tests skipped: this kernel has no fsopen/fsconfig with overlay lowerdir+');

const { MS_NOSUID, MS_NODEV, MNT_DETACH, MOUNT_ATTR_RDONLY } = native.constants;

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'layerfs-mount-'));
});
afterEach(() => {
  // Whatever a test left mounted goes, deepest first, before its directories.
  for (const m of native.mountsUnder(dir)) native.umount2Sync(m.mountPoint, MNT_DETACH);
  fs.rmSync(dir, { recursive: true, force: true });
});

function mkdirs(...names: string[]): string[] {
  return names.map((n) => {
    const p = path.join(dir, n);
    fs.mkdirSync(p, { recursive: true });
    return p;
  });
}

function mountAt(target: string): native.MountInfo {
  const found = native.readMountInfo().filter((m) => m.mountPoint === target);
  expect(found.length).toBeGreaterThan(0);
  return found[found.length - 1];
}

describe('mount and umount2', () => {
  itMount('mounts a tmpfs and unmounts it', async () => {
    const [target] = mkdirs('tmp');
    native.mountSync('layerfs-test', target, 'tmpfs', MS_NOSUID | MS_NODEV, 'size=1m,mode=0700');
    expect(native.isMountPoint(target)).toBe(true);
    const m = mountAt(target);
    expect(m).toMatchObject({ fstype: 'tmpfs', source: 'layerfs-test', root: '/' });
    expect(m.mountOptions.split(',')).toEqual(expect.arrayContaining(['nosuid', 'nodev']));
    expect(native.parseMountOptions(m.superOptions)).toEqual(expect.arrayContaining([['size', '1024k'], ['mode', '700']]));
    fs.writeFileSync(path.join(target, 'f'), 'x');
    native.umount2Sync(target);
    expect(native.isMountPoint(target)).toBe(false);
    expect(fs.readdirSync(target)).toEqual([]);

    await native.mount('tmpfs', target, 'tmpfs');
    expect(native.isMountPoint(target)).toBe(true);
    await native.umount2(target, MNT_DETACH);
    expect(native.isMountPoint(target)).toBe(false);
  });

  itMount('fails with a Node-style error', async () => {
    const [target] = mkdirs('not-mounted');
    await expect(native.umount2(target)).rejects.toMatchObject({ code: 'EINVAL', errno: -os.constants.errno.EINVAL, syscall: 'umount2', path: target });
    const missing = path.join(dir, 'missing');
    expect(() => native.mountSync('tmpfs', missing, 'tmpfs')).toThrow(expect.objectContaining({ code: 'ENOENT', syscall: 'mount', path: missing }));
    const bad = await native.mount('tmpfs', target, 'tmpfs', 0, 'bogus=1').catch((e: unknown) => e);
    expect(bad).toMatchObject({ code: 'EINVAL', syscall: 'mount', path: target });
    if (kmsgReadable()) expect((bad as Error).message).toContain("tmpfs: Unknown parameter 'bogus'");
  });

  itMount('mountinfo decodes escaped mount points and orders mountsUnder for unmounting', () => {
    const [odd, deep, stacked] = mkdirs('with space,comma\ttab', 'a/b', 'c');
    native.mountSync('tmpfs', odd, 'tmpfs');
    expect(native.isMountPoint(odd)).toBe(true);
    expect(mountAt(odd).mountPoint).toBe(odd);

    native.mountSync('tmpfs', path.dirname(deep), 'tmpfs');
    fs.mkdirSync(deep);
    native.mountSync('tmpfs', deep, 'tmpfs');
    native.mountSync('lower', stacked, 'tmpfs');
    native.mountSync('upper', stacked, 'tmpfs');
    const order = native.mountsUnder(dir).map((m) => [path.relative(dir, m.mountPoint), m.source]);
    expect(order[0]).toEqual(['a/b', 'tmpfs']);
    expect(order.findIndex((o) => o[1] === 'upper')).toBeLessThan(order.findIndex((o) => o[1] === 'lower'));
    expect(order.findIndex((o) => o[0] === 'a/b')).toBeLessThan(order.findIndex((o) => o[0] === 'a'));
    expect(order).toHaveLength(5);
  });
});

describe('mountRootSync and lastMountAt: one statx, one line of mountinfo', () => {
  itMount('agree with a full parse of mountinfo: plain, escaped, stacked and missing paths', () => {
    const [plain, odd, stacked, below] = mkdirs('plain', 'with space\\and\ttab\nnewline', 'stacked', 'not-mounted');
    native.mountSync('one', plain, 'tmpfs');
    native.mountSync('odd', odd, 'tmpfs');
    native.mountSync('lower', stacked, 'tmpfs');
    native.mountSync('upper', stacked, 'tmpfs');
    // a directory named like a mount point inside a bind's root field must not be taken for it
    const bindSrc = path.join(plain, 'src');
    fs.mkdirSync(bindSrc);
    native.mountSync(bindSrc, below, null, native.constants.MS_BIND, null);
    const text = fs.readFileSync('/proc/self/mountinfo', 'latin1');
    for (const m of native.parseMountInfo(text)) {
      const want = native.parseMountInfo(text).filter((x) => x.mountPoint === m.mountPoint).pop();
      expect(native.lastMountAt(m.mountPoint, text)).toEqual(want);
    }
    expect(native.lastMountAt(odd)).toMatchObject({ source: 'odd', mountPoint: odd });
    expect(native.lastMountAt(stacked)).toMatchObject({ source: 'upper' });
    expect(native.lastMountAt(bindSrc)).toBeUndefined();
    expect(native.lastMountAt(path.join(dir, 'missing'))).toBeUndefined();
    if (!native.supports('mountRootSync') || native.mountRootSync('/') === null) return console.warn('mountRootSync: this kernel does not report STATX_ATTR_MOUNT_ROOT; mountinfo is read instead');
    for (const p of [plain, odd, stacked, below]) expect([p, native.mountRootSync(p)]).toEqual([p, true]);
    expect(native.mountRootSync(bindSrc)).toBe(false);
    expect(native.mountRootSync(dir)).toBe(native.isMountPoint(dir, native.readMountInfo()));
    expect(native.mountRootSync(path.join(dir, 'missing'))).toBe(false);
    // symlinks are followed, as a lookup by the real path is
    fs.symlinkSync(plain, path.join(dir, 'link'));
    expect(native.mountRootSync(path.join(dir, 'link'))).toBe(true);
    native.umount2Sync(plain, MNT_DETACH);
    expect(native.mountRootSync(plain)).toBe(false);
  });

  itMount('statMountSync gives what mountinfo gives of the topmost mount, where the kernel has statmount', () => {
    const [plain, stacked, none] = mkdirs('plain', 'stacked', 'none');
    native.mountSync('one', plain, 'tmpfs', 0, 'size=1m');
    native.mountSync('lower', stacked, 'tmpfs', 0, 'size=2m');
    native.mountSync('upper', stacked, 'tmpfs', MS_NOSUID, 'size=3m,mode=0700');
    if (!native.supports('statMountSync') || native.statMountSync(plain) === null) return console.warn('statMountSync: this kernel has no statmount with options (Linux 6.11); mountinfo is read instead');
    const all = native.readMountInfo();
    for (const m of all) {
      const got = native.statMountSync(m.mountPoint);
      // null: statmount has no options for this mount (none of its own), and mountinfo decides
      if (got !== null && all.filter((x) => x.mountPoint === m.mountPoint).pop() === m) expect(got).toEqual({ fstype: m.fstype, source: m.source, superOptions: m.superOptions });
    }
    expect(native.statMountSync(stacked)).toMatchObject({ fstype: 'tmpfs', source: 'upper' });
    expect(native.parseMountOptions(native.statMountSync(stacked)!.superOptions)).toEqual(expect.arrayContaining([['size', '3072k'], ['mode', '700']]));
    expect(native.statMountSync(none)).toBeUndefined();
    expect(native.statMountSync(path.join(dir, 'missing'))).toBeUndefined();
  });
});

describe('fsmount', () => {
  itNewApi('mounts an overlay of 3 lowers with lowerdir+, and mountinfo shows it', async () => {
    const [top, mid, bottom, upper, work, merged] = mkdirs('l1', 'l2', 'l3', 'upper', 'work', 'merged');
    fs.writeFileSync(path.join(bottom, 'a.txt'), 'bottom');
    fs.writeFileSync(path.join(bottom, 'b.txt'), 'only in bottom');
    fs.writeFileSync(path.join(mid, 'c.txt'), 'only in mid');
    fs.writeFileSync(path.join(top, 'a.txt'), 'top');
    await native.fsmount('overlay', merged, [
      ['lowerdir+', top],
      ['lowerdir+', mid],
      ['lowerdir+', bottom],
      ['upperdir', upper],
      ['workdir', work],
    ], { source: 'layerfs-test' });

    expect(fs.readFileSync(path.join(merged, 'a.txt'), 'utf8')).toBe('top');
    expect(fs.readFileSync(path.join(merged, 'b.txt'), 'utf8')).toBe('only in bottom');
    expect(fs.readdirSync(merged).sort()).toEqual(['a.txt', 'b.txt', 'c.txt']);
    fs.writeFileSync(path.join(merged, 'new.txt'), 'written');
    expect(fs.readFileSync(path.join(upper, 'new.txt'), 'utf8')).toBe('written');

    const m = mountAt(merged);
    expect(m.fstype).toBe('overlay');
    expect(m.source).toBe('layerfs-test');
    expect(m.superOptions).toContain(`upperdir=${upper}`);
    const opts = native.parseMountOptions(m.superOptions);
    expect(opts).toContainEqual(['upperdir', upper]);
    expect(opts).toContainEqual(['workdir', work]);
  });

  itNewApi('mounts 200 lowers, far past the one page mount(2) allows', () => {
    const lowers = Array.from({ length: 200 }, (_, i) => {
      const [l] = mkdirs(`layers/layer-number-${String(i).padStart(3, '0')}`);
      fs.writeFileSync(path.join(l, `f${i}`), String(i));
      return l;
    });
    const [upper, work, merged] = mkdirs('upper', 'work', 'merged');
    expect(lowers.join(':').length).toBeGreaterThan(4096);
    native.fsmountSync('overlay', merged, [...lowers.map((l): native.FsParam => ['lowerdir+', l]), ['upperdir', upper], ['workdir', work]]);
    expect(fs.readdirSync(merged)).toHaveLength(200);
    expect(fs.readFileSync(path.join(merged, 'f199'), 'utf8')).toBe('199');
    expect(native.parseMountOptions(mountAt(merged).superOptions)).toContainEqual(['upperdir', upper]);
  });

  itNewApi('sets flags and mount attributes', () => {
    const [merged] = mkdirs('merged');
    native.fsmountSync('tmpfs', merged, [['size', '1m'], ['noswap', null]], { mountAttrs: MOUNT_ATTR_RDONLY });
    const m = mountAt(merged);
    expect(m.mountOptions.split(',')[0]).toBe('ro');
    expect(native.parseMountOptions(m.superOptions)).toContainEqual(['noswap', null]);
    expect(() => fs.writeFileSync(path.join(merged, 'x'), '')).toThrow(expect.objectContaining({ code: 'EROFS' }));
  });

  itNewApi('puts what the kernel logged about a failure into the error, and leaves no fd or mount behind', async () => {
    const [lower, upper, work, merged] = mkdirs('lower', 'upper', 'work', 'merged');
    const missing = path.join(dir, 'no-such-lower');
    const err = await native.fsmount('overlay', merged, [['lowerdir+', lower], ['lowerdir+', missing], ['upperdir', upper], ['workdir', work]]).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ENOENT', errno: -os.constants.errno.ENOENT, syscall: 'fsconfig', path: merged });
    const message = (err as Error).message;
    expect(message).toContain(`ENOENT: no such file or directory, fsconfig '${merged}' (lowerdir+=${missing})`);
    // overlayfs reports this one to the kernel log only; reading it takes /dev/kmsg access.
    if (kmsgReadable()) expect(message).toContain(`failed to resolve '${missing}'`);

    // A filesystem that logs into the fs context: the line is there whatever the privileges.
    const bad = await native.fsmount('overlay', merged, [['lowerdir+', lower], ['bogus', '1']]).catch((e: unknown) => e);
    expect(bad).toMatchObject({ code: 'EINVAL', syscall: 'fsconfig', kernelLog: ["e overlay: Unknown parameter 'bogus'"] });
    expect((bad as Error).message).toContain("(bogus=1): overlay: Unknown parameter 'bogus'");

    // Failing at create (missing lowerdir) and at move_mount (no target).
    expect(() => native.fsmountSync('overlay', merged, [['upperdir', upper], ['workdir', work]])).toThrow(expect.objectContaining({ code: 'EINVAL', syscall: 'fsconfig' }));
    const nowhere = path.join(dir, 'nowhere');
    expect(() => native.fsmountSync('tmpfs', nowhere, [])).toThrow(expect.objectContaining({ code: 'ENOENT', syscall: 'move_mount', path: nowhere }));

    expect(native.mountsUnder(dir)).toEqual([]);
    expect(openMountFds()).toEqual([]);
  });

  itNewApi('refuses bad arguments before any system call', () => {
    const [merged] = mkdirs('merged');
    expect(() => native.fsmountSync('overlay', merged, 'lowerdir=/' as unknown as native.FsParam[])).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
    expect(() => native.fsmountSync('overlay', merged, [['lowerdir+', '/a\0b']])).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
  });
});

function kmsgReadable(): boolean {
  try {
    fs.closeSync(fs.openSync('/dev/kmsg', fs.constants.O_RDONLY | fs.constants.O_NONBLOCK));
    return true;
  } catch {
    return false;
  }
}

/** This process's descriptors of fs contexts or detached mounts (fsopen/fsmount leftovers). */
function openMountFds(): string[] {
  const out: string[] = [];
  for (const fd of fs.readdirSync('/proc/self/fd')) {
    let target: string;
    try {
      target = fs.readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      continue;
    }
    if (target.includes('fscontext') || target.includes(dir)) out.push(`${fd} -> ${target}`);
  }
  return out;
}
