/**
 * applyLayer: what a layer can hold, applied exactly; inputs in every compression and framing;
 * GNU tar interop; later-wins and same-layer whiteout rules checked against the union view (and a
 * real overlay mount as root). Hostile input is in apply-hostile.test.ts, the worker plumbing in
 * apply.worker.test.ts.
 */
import * as fs from 'fs';
import * as path from 'path';
import { execFileSync } from 'child_process';
import { createHash } from 'crypto';
import { applyLayer } from '../../lib/tar/apply-in-worker';
import { addonStatus, lgetxattrSync, lsetxattrSync } from '../../lib/native';
import { UnionView } from '../../lib/view';
import type { ApplyOptions } from '../../lib/tar/types';
import type { WhiteoutFormatName } from '../../lib/store/types';
import { rawTar, gzip, RawEntry, Sandbox } from '../fixtures/hostile-tar';
import { snapshotTree, diffSnapshots } from '../fixtures/tree';
import { describeIf, itIf, isRoot } from '../fixtures/peers';
import { readableDist, runAsNobody } from '../fixtures/unprivileged';
import { removeTempDir } from '../fixtures/tmp';

const addon = addonStatus().available;
const privileged = isRoot() && addon;
const sha = (b: Buffer) => 'sha256:' + createHash('sha256').update(b).digest('hex');
const CAP = Buffer.from('0100000200200000000000000000000000000000', 'hex'); // cap_net_raw+ep, as setcap writes it
const BINARY = Buffer.from([0, 1, 2, 0xff, 0x0a, 0x3d, 0x20]);

const dist = path.resolve(__dirname, '../../dist/lib/tar/apply.worker.js');
beforeAll(() => {
  if (!fs.existsSync(dist)) throw new Error(`${dist} is missing: build with \`npx tsc -p tsconfig.json\` first`);
});

let sb: Sandbox;
beforeEach(() => (sb = new Sandbox('apply', ['in.tar'])));
afterEach(() => sb.remove());

const T = (p: string) => path.join(sb.target, p);
const apply = (tar: Buffer, opts: Partial<ApplyOptions> = {}) => applyLayer(sb.file('in.tar', tar), sb.target, { whiteout: 'oci', ...opts });

describe('a representative layer', () => {
  const entries = (): RawEntry[] => [
    { name: './', type: '5', mode: 0o750, mtime: 1500000000 },
    { name: 'etc/', type: '5', mode: 0o755, mtime: 1600000000 },
    { name: 'etc/passwd', body: 'root:x:0:0\n', mode: 0o644, mtime: 1600000001, pax: { atime: '1600000005.5' } },
    { name: 'etc/hard', type: '1', linkname: 'etc/passwd' },
    { name: 'bin/su', body: 'suid', mode: 0o4755 },
    { name: 'bin/sg', body: 'sgid', mode: 0o2755 },
    { name: 'bin/ping', body: 'ping', mode: 0o755, pax: { 'SCHILY.xattr.security.capability': CAP, 'SCHILY.xattr.user.note': BINARY } },
    { name: 'tmp/', type: '5', mode: 0o1777, mtime: 1400000000 },
    { name: 'rel', type: '2', linkname: 'etc/passwd', mtime: 1300000000 },
    { name: 'abs', type: '2', linkname: '/etc/passwd' },
    { name: 'dangling', type: '2', linkname: '../../nowhere' },
    { name: 'link-to-symlink', type: '1', linkname: 'rel' },
    { name: 'fifo', type: '6', mode: 0o640 },
    // a directory whose entry comes before its children keeps its own mtime
    { name: 'a/', type: '5', mode: 0o700, mtime: 1200000000 },
    { name: 'a/b/', type: '5', mtime: 1200000001 },
    { name: 'a/b/c/file', body: 'deep', mtime: 1200000002 },
    { name: 'ovl/', type: '5', pax: { 'SCHILY.xattr.trusted.overlay.opaque': 'y', 'SCHILY.xattr.user.overlay.opaque': 'y', 'SCHILY.xattr.user.kept': 'k' } },
    ...(privileged
      ? [
          { name: 'owned', body: 'x', uid: 1000, gid: 1001, mode: 0o6750 },
          { name: 'dev/null', type: '3', devmajor: 1, devminor: 3, mode: 0o666 },
          { name: 'dev/sda', type: '4', devmajor: 8, devminor: 0, mode: 0o660, gid: 6 },
        ]
      : []),
  ];

  test('every kind of entry, with its metadata', async () => {
    if (!privileged) console.warn('apply: owners, devices and security.capability not checked (need root and the native addon)');
    const tar = rawTar(entries());
    const r = await apply(tar);
    expect(r).toMatchObject({ diffId: sha(tar), digest: sha(tar), size: tar.length, uncompressedSize: tar.length, compression: 'none', entries: entries().length });
    expect(r.warnings).toEqual([]);
    const st = (p: string) => fs.lstatSync(T(p));
    expect(st('').mode & 0o7777).toBe(0o750);
    expect(st('').mtimeMs).toBe(1500000000000);
    // the atime first: reading the file would update it
    expect([st('etc/passwd').mtimeMs, st('etc/passwd').atimeMs]).toEqual([1600000001000, 1600000005500]);
    expect(fs.readFileSync(T('etc/passwd'), 'utf8')).toBe('root:x:0:0\n');
    expect(st('etc').mtimeMs).toBe(1600000000000);
    expect(st('etc/hard').ino).toBe(st('etc/passwd').ino);
    expect(st('etc/passwd').nlink).toBe(2);
    expect(st('bin/su').mode & 0o7777).toBe(0o4755);
    expect(st('bin/sg').mode & 0o7777).toBe(0o2755);
    expect(st('tmp').mode & 0o7777).toBe(0o1777);
    expect(st('tmp').mtimeMs).toBe(1400000000000);
    expect(fs.readlinkSync(T('rel'))).toBe('etc/passwd');
    expect(st('rel').mtimeMs).toBe(1300000000000);
    expect(fs.readlinkSync(T('abs'))).toBe('/etc/passwd');
    expect(fs.readlinkSync(T('dangling'))).toBe('../../nowhere');
    expect(st('link-to-symlink').isSymbolicLink()).toBe(true);
    expect(st('link-to-symlink').ino).toBe(st('rel').ino);
    expect([st('a').mtimeMs, st('a/b').mtimeMs, st('a/b/c/file').mtimeMs]).toEqual([1200000000000, 1200000001000, 1200000002000]);
    expect(st('a').mode & 0o7777).toBe(0o700);
    // an implicit parent: 0755
    expect(st('a/b/c').mode & 0o7777).toBe(0o755);
    if (addon) {
      expect(st('fifo').isFIFO()).toBe(true);
      expect(st('fifo').mode & 0o7777).toBe(0o640);
      expect(lgetxattrSync(T('bin/ping'), 'user.note')).toEqual(BINARY);
      expect(lgetxattrSync(T('ovl'), 'trusted.overlay.opaque')).toBeNull();
      expect(lgetxattrSync(T('ovl'), 'user.overlay.opaque')).toBeNull();
      expect(lgetxattrSync(T('ovl'), 'user.kept')?.toString()).toBe('k');
    }
    if (privileged) {
      expect(lgetxattrSync(T('bin/ping'), 'security.capability')).toEqual(CAP);
      expect([st('owned').uid, st('owned').gid, st('owned').mode & 0o7777]).toEqual([1000, 1001, 0o6750]);
      expect(st('dev/null').isCharacterDevice() && st('dev/null').rdev).toBe(0x103);
      expect(st('dev/sda').isBlockDevice() && st('dev/sda').rdev).toBe(0x800);
      expect([st('dev/sda').gid, st('dev/sda').mode & 0o7777]).toEqual([6, 0o660]);
    }
  });

  itIf(['root', 'addon'], 'as an unprivileged user: fifos and user.* xattrs are made; devices, owners, trusted.* and security.* are skipped with warnings')('unprivileged', async () => {
    fs.chmodSync(sb.work, 0o755);
    fs.chownSync(sb.target, 65534, 65534);
    const input = sb.file('in.tar', rawTar([...entries(), { name: 'tr', body: 't', pax: { 'SCHILY.xattr.trusted.x': 'y' } }, { name: 'cdev', type: '3', devmajor: 1, devminor: 3 }]));
    // the child loads a world-readable copy of dist: the checkout may sit under a 0700 home
    const lib = readableDist();
    const script = `require(process.argv[1] + '/dist/lib/tar/apply-in-worker.js').applyLayer(process.argv[2], process.argv[3], { whiteout: 'oci' })
      .then((r) => console.log(JSON.stringify(r)), (e) => console.log(JSON.stringify({ error: e.code, message: e.message })));`;
    let out;
    try {
      out = runAsNobody(process.execPath, ['-e', script, lib, input, sb.target]);
    } finally {
      removeTempDir(lib);
    }
    expect(out.stderr).toBe('');
    const r = JSON.parse(out.stdout);
    expect(r.error).toBeUndefined();
    const st = (p: string) => fs.lstatSync(T(p));
    expect(st('fifo').isFIFO()).toBe(true);
    expect(fs.existsSync(T('cdev'))).toBe(false);
    expect(lgetxattrSync(T('bin/ping'), 'user.note')).toEqual(BINARY);
    expect(lgetxattrSync(T('bin/ping'), 'security.capability')).toBeNull();
    expect(lgetxattrSync(T('tr'), 'trusted.x')).toBeNull();
    expect(st('bin/su').mode & 0o7777).toBe(0o4755);
    expect(st('etc/passwd').uid).toBe(65534);
    expect(r.warnings.join('\n')).toMatch(/skipped char device cdev/);
    expect(r.warnings.join('\n')).toMatch(/skipped xattr trusted\.x of tr/);
    expect(r.warnings.join('\n')).toMatch(/skipped xattr security\.capability of bin\/ping/);
  });
});

describe('inputs', () => {
  const tar = rawTar([{ name: 'a', body: 'hello '.repeat(100000) }, { name: 'b/c', body: 'x' }]);

  itIf(['zstd'])('plain, gzip and zstd give the DiffID of the uncompressed bytes (as sha256sum says) and the digest of the bytes given', async () => {
    const expected = 'sha256:' + execFileSync('sha256sum', { input: tar }).toString().split(' ')[0];
    expect(expected).toBe(sha(tar));
    const inputs: Array<[string, Buffer]> = [
      ['none', tar],
      ['gzip', gzip(tar)],
      ['gzip', execFileSync('gzip', ['-c', '-9'], { input: tar })],
      ['zstd', execFileSync('zstd', ['-q', '-c'], { input: tar })],
    ];
    for (const [compression, input] of inputs) {
      sb.reset();
      const r = await apply(input);
      expect(r).toMatchObject({ diffId: expected, digest: sha(input), size: input.length, uncompressedSize: tar.length, compression, entries: 2 });
      expect(fs.readFileSync(T('a'), 'utf8')).toBe('hello '.repeat(100000));
    }
  });

  test('no end-of-archive blocks, and no padding after the last file (as umoci insert writes): accepted, hashed as given', async () => {
    const noEnd = rawTar([{ name: 'a', body: 'abc' }, { name: 'b', body: 'def' }], { end: false, padLast: false });
    expect(noEnd.length).toBe(512 * 3 + 3);
    await expect(apply(noEnd)).resolves.toMatchObject({ diffId: sha(noEnd), entries: 2 });
    expect(fs.readFileSync(T('b'), 'utf8')).toBe('def');
    sb.reset();
    await expect(apply(gzip(noEnd))).resolves.toMatchObject({ diffId: sha(noEnd) });
  });

  test('trailing bytes after the end-of-archive blocks are part of the DiffID', async () => {
    const tar = Buffer.concat([rawTar([{ name: 'a', body: 'x' }]), Buffer.alloc(9000)]);
    await expect(apply(tar)).resolves.toMatchObject({ diffId: sha(tar), uncompressedSize: tar.length });
  });

  test('a stream cut inside an entry is refused, naming the entry (plain and gzip)', async () => {
    const whole = rawTar([{ name: 'small', body: 's' }, { name: 'big', body: Buffer.alloc(300000, 'z') }]);
    await expect(apply(whole.subarray(0, 100000))).rejects.toMatchObject({ code: 'LAYERFS_BAD_TAR', entry: 'big' });
    sb.reset();
    const gz = gzip(whole);
    await expect(apply(gz.subarray(0, gz.length - 200))).rejects.toMatchObject({ code: 'LAYERFS_BAD_TAR', entry: 'big' });
  });
});

describeIf(['tar'])('archives written by GNU tar', () => {
  let src: string;
  beforeEach(() => {
    src = path.join(sb.work, 'src');
    fs.mkdirSync(path.join(src, 'd'.repeat(120), 'sub'), { recursive: true });
    fs.writeFileSync(path.join(src, 'd'.repeat(120), 'f'.repeat(150)), 'long');
    fs.writeFileSync(Buffer.from(src + '/caf\xe9-\xff', 'latin1'), 'latin1 name');
    fs.symlinkSync('t'.repeat(150), path.join(src, 'longlink'));
    fs.symlinkSync('/abs/target', path.join(src, 'abslink'));
    fs.writeFileSync(path.join(src, 'suid'), 's', { mode: 0o4755 });
    fs.chmodSync(path.join(src, 'suid'), 0o4755);
    fs.linkSync(path.join(src, 'suid'), path.join(src, 'suid-link'));
    fs.mkdirSync(path.join(src, 'sticky'), { mode: 0o1777 });
    fs.chmodSync(path.join(src, 'sticky'), 0o1777);
    if (addon) lsetxattrSync(path.join(src, 'suid'), 'user.bin', BINARY);
    if (privileged) {
      execFileSync('mknod', [path.join(src, 'null'), 'c', '1', '3']);
      fs.lchownSync(path.join(src, 'suid'), 123, 456);
      fs.chmodSync(path.join(src, 'suid'), 0o4755);
    }
    if (addon) execFileSync('mkfifo', [path.join(src, 'fifo')]);
    for (const p of ['d'.repeat(120) + '/sub', 'd'.repeat(120), 'sticky', '.']) fs.utimesSync(path.join(src, p), 1234567890, 1234567890);
  });

  test.each(['gnu', 'posix'])('--format=%s: the applied tree equals the source', async (format) => {
    const args = [`--format=${format}`, '-cf', '-', '-C', src, ...(format === 'posix' ? ['--xattrs', '--xattrs-include=*'] : []), '.'];
    const tar = execFileSync('tar', args, { maxBuffer: 1 << 26 });
    const r = await apply(tar);
    expect(r.diffId).toBe(sha(tar));
    const snap = (d: string) => snapshotTree(d, { mtime: true, xattrs: format === 'posix', ignore: (p) => p === '/' || p === '/src' });
    expect(diffSnapshots(snap(src), snap(sb.target))).toEqual([]);
    expect(fs.readFileSync(Buffer.from(sb.target + '/caf\xe9-\xff', 'latin1'), 'utf8')).toBe('latin1 name');
  });
});

describe.each<WhiteoutFormatName>(['oci', 'overlay'])('later entries win (%s)', (whiteout) => {
  const maybe = whiteout === 'oci' ? test : itIf(['root', 'addon']);

  maybe('a file rewritten never writes into the inode another name shares', async () => {
    await apply(rawTar([{ name: 'a', body: 'first' }, { name: 'b', type: '1', linkname: 'a' }, { name: 'a', body: 'second' }]), { whiteout });
    expect(fs.readFileSync(T('a'), 'utf8')).toBe('second');
    expect(fs.readFileSync(T('b'), 'utf8')).toBe('first');
  });

  maybe('a directory replaced by a file goes with its subtree, without following the symlinks in it', async () => {
    const outside = path.join(sb.work, 'victim');
    await apply(
      rawTar([
        { name: 'd/x', body: 'in dir' },
        { name: 'd/sub/deeper/y', body: 'y' },
        { name: 'd/escape', type: '2', linkname: outside },
        { name: 'd/up', type: '2', linkname: '../..' },
        { name: 'd', body: 'now a file' },
        { name: 'd2/', type: '5' },
        { name: 'd2', type: '2', linkname: 'd' },
      ]),
      { whiteout },
    );
    expect(fs.readFileSync(T('d'), 'utf8')).toBe('now a file');
    expect(fs.readlinkSync(T('d2'))).toBe('d');
    sb.expectVictimUntouched();
  });

  maybe('a file replaced by a directory; a directory entry over a directory only updates its metadata', async () => {
    await apply(
      rawTar([
        { name: 'x', body: 'f' },
        { name: 'x/', type: '5', mode: 0o700 },
        { name: 'x/y', body: 'y' },
        { name: 'x/', type: '5', mode: 0o711, mtime: 1111111111 },
      ]),
      { whiteout },
    );
    expect(fs.readFileSync(T('x/y'), 'utf8')).toBe('y');
    expect(fs.statSync(T('x')).mode & 0o7777).toBe(0o711);
    expect(fs.statSync(T('x')).mtimeMs).toBe(1111111111000);
  });

  maybe('a symlink replaced by a file is not followed', async () => {
    await apply(rawTar([{ name: 'x', type: '2', linkname: '../victim' }, { name: 'x', body: 'replaced' }]), { whiteout });
    expect(fs.readFileSync(T('x'), 'utf8')).toBe('replaced');
    sb.expectVictimUntouched();
  });

  maybe('a hardlink whose target is inside the directory it replaces is refused', async () => {
    await expect(apply(rawTar([{ name: 'd/f', body: 'x' }, { name: 'd', type: '1', linkname: 'd/f' }]), { whiteout })).rejects.toMatchObject({ code: 'LAYERFS_BAD_TAR', entry: 'd' });
  });

  maybe('a directory this layer replaced with a file cannot hold whiteouts (umoci writes them; containerd and buildah refuse too)', async () => {
    await expect(apply(rawTar([{ name: 'd/', type: '5' }, { name: 'd', body: 'file' }, { name: 'd/.wh.old', body: '' }]), { whiteout })).rejects.toMatchObject({ code: 'LAYERFS_UNSAFE_PATH', entry: 'd/.wh.old' });
  });
});

/** The lower layer the whiteouts act on. */
function makeLower(dir: string): void {
  const files: Record<string, string> = { keep: 'lower', later: 'lower', gone: 'lower', 'op/old': 'o', 'op2/old': 'o', 'recreated/old': 'o', 'recreated2/old': 'o', 'plain/old': 'o', 'f2d/inner': 'lower dir' };
  for (const [p, body] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, p)), { recursive: true });
    fs.writeFileSync(path.join(dir, p), body);
  }
}

const sameLayer = (): RawEntry[] => [
  { name: 'keep', body: 'mine' },
  { name: '.wh.keep', body: '' }, // after the entry: the entry survives
  { name: '.wh.later', body: '' }, // before the entry: the entry survives
  { name: 'later', body: 'also mine' },
  { name: '.wh.gone', body: '' }, // hides the lower file
  { name: 'op/.wh..wh..opq', body: '' }, // opaque marker before its directory entry
  { name: 'op/', type: '5', mode: 0o750 },
  { name: 'op/child', body: 'survives' },
  { name: 'op2/child', body: 'before marker' },
  { name: 'op2/.wh..wh..opq', body: '' }, // after the child
  { name: '.wh.recreated', body: '' }, // a deleted directory made again: the lower contents stay hidden
  { name: 'recreated/new', body: 'n' },
  { name: 'recreated2/', type: '5' },
  { name: 'recreated2/new', body: 'n' },
  { name: '.wh.recreated2', body: '' },
  { name: 'plain/new', body: 'n' }, // no whiteout: merged with the lower directory
  { name: '.wh.f2d', body: '' },
  { name: 'f2d', body: 'a file now' },
];

function expectUnion(list: (p: string) => string[], read: (p: string) => string): void {
  expect(list('/').sort()).toEqual(['f2d', 'keep', 'later', 'op', 'op2', 'plain', 'recreated', 'recreated2']);
  expect(read('/keep')).toBe('mine');
  expect(read('/later')).toBe('also mine');
  expect(read('/f2d')).toBe('a file now');
  expect(list('/op')).toEqual(['child']);
  expect(list('/op2')).toEqual(['child']);
  expect(list('/recreated')).toEqual(['new']);
  expect(list('/recreated2')).toEqual(['new']);
  expect(list('/plain').sort()).toEqual(['new', 'old']);
}

describe.each<WhiteoutFormatName>(['oci', 'overlay', 'overlay-userxattr'])('same-layer whiteout rules (%s)', (whiteout) => {
  const maybe = whiteout === 'oci' || privileged ? test : test.skip;
  if (whiteout !== 'oci' && !privileged) console.warn(`apply: ${whiteout} whiteouts skipped (need root and the native addon)`);

  maybe('a whiteout hides lower layers only; an opaque marker anywhere in its directory; the union view agrees', async () => {
    const lower = path.join(sb.work, 'lower');
    makeLower(lower);
    await apply(rawTar(sameLayer()), { whiteout });
    expect(fs.readFileSync(T('keep'), 'utf8')).toBe('mine');
    expect(fs.statSync(T('op')).mode & 0o7777).toBe(0o750);
    const ns = whiteout === 'overlay' ? 'trusted' : 'user';
    if (whiteout === 'oci') {
      for (const p of ['.wh.gone', '.wh.keep', '.wh.later', 'op/.wh..wh..opq', 'op2/.wh..wh..opq', '.wh.recreated']) expect(fs.lstatSync(T(p)).isFile()).toBe(true);
    } else {
      const gone = fs.lstatSync(T('gone'));
      expect(gone.isCharacterDevice() && gone.rdev === 0).toBe(true);
      for (const d of ['op', 'op2', 'recreated', 'recreated2']) expect(lgetxattrSync(T(d), `${ns}.overlay.opaque`)?.toString()).toBe('y');
      expect(lgetxattrSync(T('plain'), `${ns}.overlay.opaque`)).toBeNull();
      expect(fs.readdirSync(sb.target).filter((n) => n.startsWith('.wh.'))).toEqual([]);
    }
    const view = new UnionView([lower, sb.target], whiteout);
    expectUnion(
      (p) => view.readdirSync(p),
      (p) => view.readFileSync(p).toString(),
    );
  });

  (whiteout !== 'oci' && privileged ? test : test.skip)('a real overlay mount of the layer over the lower one shows the same', async () => {
    const lower = path.join(sb.work, 'lower');
    const merged = path.join(sb.work, 'merged');
    makeLower(lower);
    fs.mkdirSync(merged);
    await apply(rawTar(sameLayer()), { whiteout });
    execFileSync('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${sb.target}:${lower}${whiteout === 'overlay-userxattr' ? ',userxattr' : ''}`, merged]);
    try {
      expectUnion(
        (p) => fs.readdirSync(path.join(merged, p)),
        (p) => fs.readFileSync(path.join(merged, p), 'utf8'),
      );
    } finally {
      execFileSync('umount', [merged]);
    }
  });
});

itIf(['addon', 'getfattr'])('fixture check: the machine keeps user.* xattrs (else the xattr assertions above would mean nothing)', () => {
  const f = T('f');
  fs.writeFileSync(f, '');
  lsetxattrSync(f, 'user.a', BINARY);
  const out = execFileSync('getfattr', ['-e', 'hex', '-n', 'user.a', f]).toString();
  expect(out).toContain('0x000102ff0a3d20');
});
