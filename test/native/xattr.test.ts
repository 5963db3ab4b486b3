import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as native from '../../lib/native';

const status = native.addonStatus();
const isRoot = process.getuid?.() === 0;
const itAddon = status.available ? it : it.skip;
const itRoot = status.available && isRoot ? it : it.skip;
if (!status.available) console.warn(`xattr tests skipped: the native addon is unavailable (${status.reason})`);
else if (!isRoot) console.warn('xattr tests of trusted.* and security.capability skipped: they need root');

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'layerfs-xattr-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

function file(name = 'f'): string {
  const p = path.join(dir, name);
  fs.writeFileSync(p, 'data');
  return p;
}

describe('xattrs', () => {
  itAddon('round-trips a binary value with NUL bytes, byte for byte', () => {
    const p = file();
    const value = Buffer.from([0, 1, 0, 0xff, 0x80, 0]);
    native.lsetxattrSync(p, 'user.bin', value);
    expect(native.lgetxattrSync(p, 'user.bin')).toEqual(value);
    expect(native.lgetxattrSync(p, 'user.empty')).toBeNull();
    native.lsetxattrSync(p, 'user.empty', Buffer.alloc(0));
    expect(native.lgetxattrSync(p, 'user.empty')).toEqual(Buffer.alloc(0));
  });

  itAddon('reads a value larger than its first guess of the size', () => {
    const p = file();
    const value = Buffer.alloc(3000);
    for (let i = 0; i < value.length; i++) value[i] = (i * 7) & 0xff;
    native.lsetxattrSync(p, 'user.big', value);
    expect(native.lgetxattrSync(p, 'user.big')).toEqual(value);
  });

  itAddon('lists and removes, sync and async', async () => {
    const p = file();
    await native.lsetxattr(p, 'user.a', 'one');
    await native.lsetxattr(p, 'user.b', Buffer.from('two'));
    expect(native.llistxattrSync(p).sort()).toEqual(['user.a', 'user.b']);
    expect((await native.llistxattr(p)).sort()).toEqual(['user.a', 'user.b']);
    expect(await native.lgetxattr(p, 'user.b')).toEqual(Buffer.from('two'));
    native.lremovexattrSync(p, 'user.a');
    await native.lremovexattr(p, 'user.b');
    expect(native.llistxattrSync(p)).toEqual([]);
    expect(await native.lgetxattr(p, 'user.b')).toBeNull();
  });

  itAddon('honours XATTR_CREATE and XATTR_REPLACE', () => {
    const p = file();
    const { XATTR_CREATE, XATTR_REPLACE } = native.constants;
    expect(() => native.lsetxattrSync(p, 'user.x', 'v', XATTR_REPLACE)).toThrow(expect.objectContaining({ code: 'ENODATA' }));
    native.lsetxattrSync(p, 'user.x', 'v', XATTR_CREATE);
    expect(() => native.lsetxattrSync(p, 'user.x', 'w', XATTR_CREATE)).toThrow(expect.objectContaining({ code: 'EEXIST' }));
    native.lsetxattrSync(p, 'user.x', 'w', XATTR_REPLACE);
    expect(native.lgetxattrSync(p, 'user.x')?.toString()).toBe('w');
  });

  itAddon('fails like Node fs does: code, negative errno, syscall, path', async () => {
    const missing = path.join(dir, 'missing');
    let caught: unknown;
    try {
      native.lremovexattrSync(file(), 'user.none');
    } catch (e) {
      caught = e;
    }
    expect(caught).toMatchObject({ code: 'ENODATA', errno: -os.constants.errno.ENODATA, syscall: 'lremovexattr', path: path.join(dir, 'f') });
    await expect(native.lgetxattr(missing, 'user.x')).rejects.toMatchObject({
      code: 'ENOENT',
      errno: -os.constants.errno.ENOENT,
      syscall: 'lgetxattr',
      path: missing,
      message: `ENOENT: no such file or directory, lgetxattr '${missing}'`,
    });
    expect(native.isNativeError(caught, 'ENODATA')).toBe(true);
  });

  itAddon('refuses a path with a NUL byte instead of cutting it', () => {
    expect(() => native.lgetxattrSync(path.join(dir, 'a\0b'), 'user.x')).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
  });

  itAddon('takes non-UTF-8 names as Buffers, byte-exact', () => {
    const name = Buffer.concat([Buffer.from(dir + '/'), Buffer.from([0x66, 0xff, 0xfe, 0x80])]);
    fs.writeFileSync(name, 'x');
    native.lsetxattrSync(name, 'user.raw', Buffer.from([1, 2, 3]));
    expect(native.lgetxattrSync(name, 'user.raw')).toEqual(Buffer.from([1, 2, 3]));
    expect(native.llistxattrSync(name)).toEqual(['user.raw']);
  });

  itAddon('does not follow a final symlink', () => {
    const target = file('target');
    const link = path.join(dir, 'link');
    fs.symlinkSync('target', link);
    native.lsetxattrSync(target, 'user.t', 'v');
    expect(native.lgetxattrSync(link, 'user.t')).toBeNull();
    expect(native.llistxattrSync(link)).not.toContain('user.t');
  });

  itRoot('sets trusted.* xattrs, also on a symlink (root)', () => {
    const d = path.join(dir, 'd');
    fs.mkdirSync(d);
    native.lsetxattrSync(d, 'trusted.overlay.opaque', 'y');
    expect(native.lgetxattrSync(d, 'trusted.overlay.opaque')).toEqual(Buffer.from('y'));
    expect(native.llistxattrSync(d)).toContain('trusted.overlay.opaque');
    const link = path.join(dir, 'link');
    fs.symlinkSync('d', link);
    native.lsetxattrSync(link, 'trusted.mark', Buffer.from([0]));
    expect(native.lgetxattrSync(link, 'trusted.mark')).toEqual(Buffer.from([0]));
    expect(native.lgetxattrSync(d, 'trusted.mark')).toBeNull();
  });

  itRoot('keeps a security.capability value byte for byte (root)', () => {
    const p = file();
    // VFS_CAP_REVISION_2 with the effective bit; permitted = CAP_NET_BIND_SERVICE (bit 10).
    const cap = Buffer.alloc(20);
    cap.writeUInt32LE(0x02000001, 0);
    cap.writeUInt32LE(1 << 10, 4);
    native.lsetxattrSync(p, 'security.capability', cap);
    expect(native.lgetxattrSync(p, 'security.capability')).toEqual(cap);
  });
});
