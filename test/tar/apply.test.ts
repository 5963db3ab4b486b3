import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Readable } from 'stream';
import { execFileSync } from 'child_process';
import { createHash } from 'crypto';
import { applyLayer } from '../../lib/tar/apply-layer';
import { TarReader } from '../../lib/tar/reader';
import { DEFAULT_TAR_LIMITS } from '../../lib/tar/types';
import { addonStatus, lgetxattrSync, lsetxattrSync } from '../../lib/native';
import type { WhiteoutFormatName } from '../../lib/store/types';
import { rawTar, gzip, header, RawEntry } from './hostile';

const root = process.getuid?.() === 0 && addonStatus().available;
const formats: WhiteoutFormatName[] = root ? ['oci', 'overlay'] : ['oci'];
if (!root) console.warn('apply tests: overlay whiteouts, devices and owners skipped (need root and the native addon)');
const sha = (b: Buffer) => 'sha256:' + createHash('sha256').update(b).digest('hex');

let work: string;
let target: string;
let victim: string;
beforeEach(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'layerfs-apply-'));
  target = path.join(work, 'target');
  fs.mkdirSync(target);
  victim = path.join(work, 'victim');
  fs.writeFileSync(victim, 'precious');
  fs.chmodSync(victim, 0o600);
  fs.utimesSync(victim, 1000, 1000);
});
afterEach(() => fs.rmSync(work, { recursive: true, force: true }));

function victimUntouched(): void {
  const st = fs.lstatSync(victim);
  expect(fs.readFileSync(victim, 'utf8')).toBe('precious');
  expect(st.mode & 0o7777).toBe(0o600);
  expect(st.mtimeMs).toBe(1000000);
  expect(st.nlink).toBe(1);
  expect(fs.readdirSync(work).sort()).toEqual(['target', 'victim']);
}

const apply = (tar: Buffer, whiteout: WhiteoutFormatName = 'oci', limits = {}) => {
  const f = path.join(work, '..', path.basename(work) + '.in.tar');
  fs.writeFileSync(f, tar);
  return applyLayer(f, target, { whiteout, limits }).finally(() => fs.rmSync(f, { force: true }));
};

describe('applyLayer: what a layer can hold', () => {
  test('files, dirs, symlinks, hardlinks, modes, mtimes and xattrs', async () => {
    const cap = Buffer.from('0100000200200000000000000000000000000000', 'hex');
    const tar = rawTar([
      { name: 'etc/', type: '5', mode: 0o755, mtime: 1600000000 },
      { name: 'etc/passwd', body: 'root:x:0:0\n', mode: 0o644, mtime: 1600000001 },
      { name: 'bin/su', body: 'suid', mode: 0o4755 },
      { name: 'bin/ping', body: 'ping', mode: 0o755, pax: { 'SCHILY.xattr.security.capability': cap, 'SCHILY.xattr.user.note': Buffer.from([0, 1, 2, 255]) } },
      { name: 'rel', type: '2', linkname: 'etc/passwd' },
      { name: 'abs', type: '2', linkname: '/etc/passwd' },
      { name: 'dangling', type: '2', linkname: '../../nowhere' },
      { name: 'etc/hard', type: '1', linkname: 'etc/passwd' },
      { name: 'fifo', type: '6' },
      { name: 'tmp/', type: '5', mode: 0o1777 },
    ]);
    const r = await apply(tar);
    expect(r.diffId).toBe(sha(tar));
    expect(r.digest).toBe(sha(tar));
    expect(r.compression).toBe('none');
    expect(r.entries).toBe(10);
    expect(fs.readFileSync(path.join(target, 'etc/passwd'), 'utf8')).toBe('root:x:0:0\n');
    expect(fs.statSync(path.join(target, 'etc/passwd')).mtimeMs).toBe(1600000001000);
    expect(fs.statSync(path.join(target, 'etc')).mtimeMs).toBe(1600000000000);
    expect(fs.statSync(path.join(target, 'bin/su')).mode & 0o7777).toBe(0o4755);
    expect(fs.statSync(path.join(target, 'tmp')).mode & 0o7777).toBe(0o1777);
    expect(fs.readlinkSync(path.join(target, 'abs'))).toBe('/etc/passwd');
    expect(fs.readlinkSync(path.join(target, 'dangling'))).toBe('../../nowhere');
    expect(fs.statSync(path.join(target, 'etc/hard')).ino).toBe(fs.statSync(path.join(target, 'etc/passwd')).ino);
    if (addonStatus().available) {
      expect(fs.lstatSync(path.join(target, 'fifo')).isFIFO()).toBe(true);
      expect(lgetxattrSync(path.join(target, 'bin/ping'), 'user.note')).toEqual(Buffer.from([0, 1, 2, 255]));
      if (root) expect(lgetxattrSync(path.join(target, 'bin/ping'), 'security.capability')).toEqual(cap);
    }
  });

  (root ? test : test.skip)('owners and devices as root; overlay xattrs from a layer are never applied', async () => {
    const tar = rawTar([
      { name: 'owned', body: 'x', uid: 1000, gid: 1001, mode: 0o4750 },
      { name: 'null', type: '3', devmajor: 1, devminor: 3 },
      { name: 'sda', type: '4', devmajor: 8, devminor: 0 },
      { name: 'd/', type: '5', pax: { 'SCHILY.xattr.trusted.overlay.opaque': 'y', 'SCHILY.xattr.user.overlay.opaque': 'y' } },
    ]);
    await apply(tar, 'overlay');
    const st = fs.statSync(path.join(target, 'owned'));
    expect([st.uid, st.gid, st.mode & 0o7777]).toEqual([1000, 1001, 0o4750]);
    expect(fs.lstatSync(path.join(target, 'null')).isCharacterDevice()).toBe(true);
    expect(fs.lstatSync(path.join(target, 'sda')).isBlockDevice()).toBe(true);
    expect(lgetxattrSync(path.join(target, 'd'), 'trusted.overlay.opaque')).toBeNull();
  });

  test('gzip, zstd and plain give the same DiffID; stream and path inputs agree', async () => {
    const tar = rawTar([{ name: 'a', body: 'hello '.repeat(1000) }, { name: 'b/c', body: 'x' }]);
    const gz = gzip(tar);
    const zst = execFileSync('zstd', ['-q', '-c'], { input: tar });
    const results = [];
    for (const input of [tar, gz, zst]) {
      fs.rmSync(target, { recursive: true });
      fs.mkdirSync(target);
      results.push(await apply(input));
    }
    expect(results.map((r) => r.diffId)).toEqual([sha(tar), sha(tar), sha(tar)]);
    expect(results.map((r) => r.compression)).toEqual(['none', 'gzip', 'zstd']);
    expect(results[1].digest).toBe(sha(gz));
    fs.rmSync(target, { recursive: true });
    fs.mkdirSync(target);
    const chunks = [];
    for (let i = 0; i < gz.length; i += 7) chunks.push(gz.subarray(i, i + 7));
    const s = await applyLayer(Readable.from(chunks), target, { whiteout: 'oci', blobPath: path.join(work, 'blob') });
    expect(s.diffId).toBe(sha(tar));
    expect(fs.readFileSync(path.join(work, 'blob')).equals(gz)).toBe(true);
    fs.rmSync(path.join(work, 'blob'));
  });

  test('a stream with no end-of-archive blocks (and no final padding) is whole; one cut inside an entry is not', async () => {
    const noEnd = rawTar([{ name: 'a', body: 'abc' }, { name: 'b', body: 'def' }], { end: false, padLast: false });
    await expect(apply(noEnd)).resolves.toMatchObject({ diffId: sha(noEnd), entries: 2 });
    expect(fs.readFileSync(path.join(target, 'b'), 'utf8')).toBe('def');
    const cut = rawTar([{ name: 'big', body: 'z'.repeat(3000) }]).subarray(0, 1500);
    fs.rmSync(target, { recursive: true });
    fs.mkdirSync(target);
    await expect(apply(cut)).rejects.toMatchObject({ code: 'LAYERFS_BAD_TAR', entry: 'big' });
    await expect(apply(rawTar([{ name: 'a', body: 'x' }]).subarray(0, 300))).rejects.toMatchObject({ code: 'LAYERFS_BAD_TAR' });
  });

  test('GNU tar archives (gnu and posix formats), long names and non-UTF-8 names', async () => {
    const src = path.join(work, '..', path.basename(work) + '-src');
    const long = 'd'.repeat(120) + '/' + 'f'.repeat(150);
    fs.mkdirSync(path.join(src, 'd'.repeat(120)), { recursive: true });
    fs.writeFileSync(path.join(src, long), 'long');
    fs.writeFileSync(Buffer.from(src + '/caf\xe9', 'latin1'), 'latin1 name');
    fs.symlinkSync('t'.repeat(150), path.join(src, 'longlink'));
    try {
      for (const format of ['gnu', 'posix']) {
        fs.rmSync(target, { recursive: true });
        fs.mkdirSync(target);
        const tar = execFileSync('tar', [`--format=${format}`, '-cf', '-', '-C', src, '.'], { maxBuffer: 1 << 26 });
        const r = await apply(tar);
        expect(r.diffId).toBe(sha(tar));
        expect(fs.readFileSync(path.join(target, long), 'utf8')).toBe('long');
        expect(fs.readFileSync(Buffer.from(target + '/caf\xe9', 'latin1'), 'utf8')).toBe('latin1 name');
        expect(fs.readlinkSync(path.join(target, 'longlink'))).toBe('t'.repeat(150));
      }
    } finally {
      fs.rmSync(src, { recursive: true, force: true });
    }
  });

  test('base-256 sizes (over 8 GiB) are parsed', () => {
    const h = header({ name: 'huge' }, 0);
    h.fill(0, 124, 136);
    h[124] = 0x80;
    h.writeUIntBE(9 * 2 ** 30, 136 - 6, 6);
    let sum = 0;
    h.fill(32, 148, 156);
    for (const b of h) sum += b;
    h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 'latin1');
    let size = -1;
    const r = new TarReader(DEFAULT_TAR_LIMITS, (e) => {
      size = e.size;
      return null;
    });
    r.push(h);
    expect(size).toBe(9 * 2 ** 30);
  });
});

describe.each(formats)('applyLayer: hostile input is refused (%s whiteouts)', (fmt) => {
  const cases: Array<[string, () => Buffer, string]> = [
    ['a ".." entry', () => rawTar([{ name: '../victim', body: 'pwned' }]), 'LAYERFS_UNSAFE_PATH'],
    ['a deeper ".." entry', () => rawTar([{ name: 'a/../../victim', body: 'pwned' }]), 'LAYERFS_UNSAFE_PATH'],
    ['an absolute name', () => rawTar([{ name: '/tmp/pwned', body: 'x' }]), 'LAYERFS_UNSAFE_PATH'],
    ['a write through a symlink made earlier in the layer', () => rawTar([{ name: 'link', type: '2', linkname: '..' }, { name: 'link/victim', body: 'pwned' }]), 'LAYERFS_UNSAFE_PATH'],
    ['a write through a symlink to an absolute dir', () => rawTar([{ name: 'etc', type: '2', linkname: '/etc' }, { name: 'etc/pwned', body: 'x' }]), 'LAYERFS_UNSAFE_PATH'],
    ['a hardlink to outside', () => rawTar([{ name: 'h', type: '1', linkname: '../victim' }]), 'LAYERFS_UNSAFE_PATH'],
    ['a hardlink to an absolute path', () => rawTar([{ name: 'h', type: '1', linkname: '/etc/passwd' }]), 'LAYERFS_UNSAFE_PATH'],
    ['a hardlink to a directory', () => rawTar([{ name: 'd/', type: '5' }, { name: 'h', type: '1', linkname: 'd' }]), 'LAYERFS_UNSAFE_PATH'],
    ['a hardlink to itself', () => rawTar([{ name: 'h', type: '1', linkname: 'h' }]), 'LAYERFS_UNSAFE_PATH'],
    ['a hardlink through a symlink', () => rawTar([{ name: 'l', type: '2', linkname: '..' }, { name: 'h', type: '1', linkname: 'l/victim' }]), 'LAYERFS_UNSAFE_PATH'],
    ['a whiteout ".wh."', () => rawTar([{ name: '.wh.', body: '' }]), 'LAYERFS_UNSAFE_PATH'],
    ['a whiteout ".wh.."', () => rawTar([{ name: '.wh..', body: '' }]), 'LAYERFS_UNSAFE_PATH'],
    ['a whiteout ".wh..."', () => rawTar([{ name: '.wh...', body: '' }]), 'LAYERFS_UNSAFE_PATH'],
    ['a whiteout "a/.wh.."', () => rawTar([{ name: 'a/.wh..', body: '' }]), 'LAYERFS_UNSAFE_PATH'],
    ['a whiteout through a symlinked parent', () => rawTar([{ name: 'link', type: '2', linkname: '/etc' }, { name: 'link/.wh.passwd', body: '' }]), 'LAYERFS_UNSAFE_PATH'],
    ['a character device 0/0', () => rawTar([{ name: 'sneaky', type: '3', devmajor: 0, devminor: 0 }]), 'LAYERFS_UNSAFE_PATH'],
    ['a bad header checksum', () => rawTar([{ name: 'a', body: 'x', badChecksum: true }]), 'LAYERFS_BAD_TAR'],
    ['a truncated tarball', () => rawTar([{ name: 'a', body: 'x'.repeat(2000) }]).subarray(0, 1024), 'LAYERFS_BAD_TAR'],
    ['a PAX header over 1 MiB', () => rawTar([{ name: 'a', body: 'x', pax: { comment: 'c'.repeat((1 << 20) + 10) } }]), 'LAYERFS_LIMIT'],
    ['a GNU long name over 1 MiB', () => {
      const body = Buffer.alloc((1 << 20) + 10, 0x61);
      return Buffer.concat([header({ name: '././@LongLink', type: 'L' }, body.length), body, Buffer.alloc(512 - (body.length % 512)), rawTar([{ name: 'a', body: 'x' }])]);
    }, 'LAYERFS_LIMIT'],
    ['a path deeper than 1024 components', () => rawTar([{ name: 'x', pax: { path: Array(1100).fill('d').join('/') }, body: 'x' }]), 'LAYERFS_LIMIT'],
    ['a name with a NUL in PAX', () => rawTar([{ name: 'x', pax: { path: Buffer.from('a\0b') }, body: 'x' }]), 'LAYERFS_UNSAFE_PATH'],
    ['a negative PAX size', () => rawTar([{ name: 'x', pax: { size: '-5' }, body: 'x' }]), 'LAYERFS_BAD_TAR'],
    ['a global header that sets a path', () => {
      const body = Buffer.from('18 path=../victim\n');
      return Buffer.concat([header({ name: 'g', type: 'g' }, body.length), body, Buffer.alloc(512 - body.length), rawTar([{ name: 'a', body: 'x' }])]);
    }, 'LAYERFS_UNSAFE_PATH'],
  ];
  test.each(cases)('%s', async (_name, make, code) => {
    await expect(apply(make(), fmt)).rejects.toMatchObject({ code });
    victimUntouched();
  });

  test('a gzip bomb stops at the ratio limit', async () => {
    const bomb = gzip(rawTar([{ name: 'zeros', body: Buffer.alloc(64 << 20) }]));
    await expect(apply(bomb, fmt, { ratioGraceBytes: 1 << 20, maxCompressionRatio: 100 })).rejects.toMatchObject({ code: 'LAYERFS_LIMIT' });
    victimUntouched();
  });

  test('same-layer rules: a whiteout hides lower layers only, an opaque marker anywhere in its dir', async () => {
    const tar = rawTar([
      { name: 'keep', body: 'mine' },
      { name: '.wh.keep', body: '' },
      { name: '.wh.later', body: '' },
      { name: 'later', body: 'also mine' },
      { name: '.wh.gone', body: '' },
      { name: 'op/.wh..wh..opq', body: '' },
      { name: 'op/', type: '5', mode: 0o750 },
      { name: 'op/child', body: 'survives' },
      { name: 'op2/child', body: 'before marker' },
      { name: 'op2/.wh..wh..opq', body: '' },
    ]);
    await apply(tar, fmt);
    expect(fs.readFileSync(path.join(target, 'keep'), 'utf8')).toBe('mine');
    expect(fs.readFileSync(path.join(target, 'later'), 'utf8')).toBe('also mine');
    expect(fs.readFileSync(path.join(target, 'op/child'), 'utf8')).toBe('survives');
    expect(fs.readFileSync(path.join(target, 'op2/child'), 'utf8')).toBe('before marker');
    expect(fs.statSync(path.join(target, 'op')).mode & 0o7777).toBe(0o750);
    if (fmt === 'oci') {
      expect(fs.existsSync(path.join(target, '.wh.gone'))).toBe(true);
      expect(fs.existsSync(path.join(target, 'op/.wh..wh..opq'))).toBe(true);
    } else {
      const gone = fs.lstatSync(path.join(target, 'gone'));
      expect(gone.isCharacterDevice() && gone.rdev === 0).toBe(true);
      expect(lgetxattrSync(path.join(target, 'op'), 'trusted.overlay.opaque')?.toString()).toBe('y');
      expect(lgetxattrSync(path.join(target, 'op2'), 'trusted.overlay.opaque')?.toString()).toBe('y');
      expect(fs.existsSync(path.join(target, '.wh.gone'))).toBe(false);
    }
  });

  test('duplicate entries: the later wins, and a multiply-linked inode is never written into', async () => {
    const tar = rawTar([
      { name: 'a', body: 'first' },
      { name: 'b', type: '1', linkname: 'a' },
      { name: 'a', body: 'second' },
      { name: 'd/x', body: 'in dir' },
      { name: 'd', body: 'dir replaced by file' },
    ]);
    await apply(tar, fmt);
    expect(fs.readFileSync(path.join(target, 'a'), 'utf8')).toBe('second');
    expect(fs.readFileSync(path.join(target, 'b'), 'utf8')).toBe('first');
    expect(fs.readFileSync(path.join(target, 'd'), 'utf8')).toBe('dir replaced by file');
  });
});

test('a symlink created in the layer is never followed when a later entry replaces it', async () => {
  const tar = rawTar([{ name: 'x', type: '2', linkname: '../victim' }, { name: 'x', body: 'replaced' }]);
  await apply(tar);
  expect(fs.readFileSync(path.join(target, 'x'), 'utf8')).toBe('replaced');
  victimUntouched();
});

test('setting an xattr directly is a test precondition check', () => {
  if (!addonStatus().available) return;
  const f = path.join(target, 'f');
  fs.writeFileSync(f, '');
  lsetxattrSync(f, 'user.a', Buffer.from('b'));
  expect(lgetxattrSync(f, 'user.a')?.toString()).toBe('b');
});
