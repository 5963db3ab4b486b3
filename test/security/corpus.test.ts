/**
 * Hostile layers, drawn from containerd's TestBreakouts, moby's TestUntarInvalid* tests and
 * node-tar's advisories, and cases of our own; each case's `from` names its source. Each case is imported
 * into a store beside a planted victim; nothing outside the store may change, and the store is
 * either as before (rejected) or holds the correct layer (accepted and checked).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { LayerStore } from '../../lib/layer-store';
import { addonStatus, lgetxattrSync } from '../../lib/native';
import type { WhiteoutFormatName } from '../../lib/store/types';
import type { ImportLayerOptions } from '../../lib/layers';
import { inUserNamespace } from '../../lib/userns/identity';
import { rawTar, header, gzip, RawEntry } from '../tar/hostile';

const root = process.getuid?.() === 0 && addonStatus().available;
/** root in a user namespace (test/userns/as-user.test.ts runs this file so, as an ordinary user): its overlay format is the userxattr one */
const userns = inUserNamespace();
const overlayFmt: WhiteoutFormatName = userns ? 'overlay-userxattr' : 'overlay';
const opaqueXattr = userns ? 'user.overlay.opaque' : 'trusted.overlay.opaque';
const formats: WhiteoutFormatName[] = root ? ['oci', overlayFmt] : ['oci'];
if (!root) console.warn('security corpus: only the oci whiteout format runs (overlay needs root and the native addon)');

type Check = (diff: string, fmt: WhiteoutFormatName) => void;
interface Case {
  name: string;
  /**
   * where the case comes from: a containerd or moby test (TestBreakouts/NAME, TestUntarInvalid*), an
   * advisory id (node-tar's CVEs), or 'layerfs' for a case of this project's own
   */
  from: string;
  tar: () => Buffer;
  reject?: string;
  check?: Check;
  /** the import's options (a limit set low) */
  options?: ImportLayerOptions;
}

const t = (...e: RawEntry[]) => () => rawTar(e);
const exists = (d: string, p: string) => fs.existsSync(path.join(d, p));
const isLink = (d: string, p: string) => fs.lstatSync(path.join(d, p)).isSymbolicLink();
const read = (d: string, p: string) => fs.readFileSync(path.join(d, p), 'utf8');
const meta = (k: string, body: Buffer, rest: Buffer) => Buffer.concat([header({ name: k, type: k === 'g' ? 'g' : k }, body.length), body, Buffer.alloc((512 - (body.length % 512)) % 512), rest]);

const cases: Case[] = [
  // traversal
  { name: '../victim', from: 'moby TestUntarInvalidFilenames', tar: t({ name: '../victim', body: 'x' }), reject: 'LAYERFS_UNSAFE_PATH' },
  { name: 'a/../../victim', from: 'layerfs', tar: t({ name: 'a/../../victim', body: 'x' }), reject: 'LAYERFS_UNSAFE_PATH' },
  { name: 'a/./../../victim', from: 'layerfs', tar: t({ name: 'a/./../../victim', body: 'x' }), reject: 'LAYERFS_UNSAFE_PATH' },
  { name: 'absolute /tmp/x', from: 'CVE-2021-32804', tar: t({ name: '/tmp/layerfs-pwned', body: 'x' }), reject: 'LAYERFS_UNSAFE_PATH' },
  { name: 'a symlink named ..', from: 'layerfs', tar: t({ name: '..', type: '2', linkname: '/' }), reject: 'LAYERFS_UNSAFE_PATH' },
  { name: 'a symlink named ./ (the root)', from: 'layerfs', tar: t({ name: './', type: '2', linkname: '/etc' }), reject: 'LAYERFS_UNSAFE_PATH' },
  { name: 'a file named . (the root)', from: 'layerfs', tar: t({ name: '.', body: 'x' }), reject: 'LAYERFS_UNSAFE_PATH' },
  { name: 'an empty name', from: 'layerfs', tar: t({ name: '', body: 'x' }), reject: 'LAYERFS_UNSAFE_PATH' },
  { name: 'a long ustar prefix with ..', from: 'layerfs', tar: () => { const h = rawTar([{ name: 'victim', body: 'x' }]); h.write('../..', 345, 'latin1'); let s = 0; h.fill(32, 148, 156); for (let i = 0; i < 512; i++) s += h[i]; h.write(s.toString(8).padStart(6, '0') + '\0 ', 148, 'latin1'); return h; }, reject: 'LAYERFS_UNSAFE_PATH' },
  { name: 'backslashes are names, not separators', from: 'CVE-2021-37701', tar: t({ name: 'a\\..\\..\\victim', body: 'inside' }), check: (d) => expect(read(d, 'a\\..\\..\\victim')).toBe('inside') },
  // symlinks
  { name: 'write through a symlink to ..', from: 'moby TestUntarInvalidSymlink', tar: t({ name: 'l', type: '2', linkname: '..' }, { name: 'l/victim', body: 'x' }), reject: 'LAYERFS_UNSAFE_PATH' },
  { name: 'write through a symlink to /', from: 'containerd TestBreakouts/SymlinkAbsolute', tar: t({ name: 'l', type: '2', linkname: '/' }, { name: 'l/tmp/x', body: 'x' }), reject: 'LAYERFS_UNSAFE_PATH' },
  { name: 'symlink chain a -> b -> .. then a/x', from: 'containerd TestBreakouts/SymlinkMultipleRelative', tar: t({ name: 'b', type: '2', linkname: '..' }, { name: 'a', type: '2', linkname: 'b' }, { name: 'a/victim', body: 'x' }), reject: 'LAYERFS_UNSAFE_PATH' },
  { name: 'symlink loop a -> b, b -> a, then a/x', from: 'layerfs', tar: t({ name: 'a', type: '2', linkname: 'b' }, { name: 'b', type: '2', linkname: 'a' }, { name: 'a/x', body: 'x' }), reject: 'LAYERFS_UNSAFE_PATH' },
  { name: 'self loop a -> a, then a/x', from: 'layerfs', tar: t({ name: 'a', type: '2', linkname: 'a' }, { name: 'a/x', body: 'x' }), reject: 'LAYERFS_UNSAFE_PATH' },
  { name: 'a directory replaced by a symlink, then written through', from: 'CVE-2021-32803', tar: t({ name: 'd/', type: '5' }, { name: 'd', type: '2', linkname: '/tmp' }, { name: 'd/x', body: 'x' }), reject: 'LAYERFS_UNSAFE_PATH' },
  { name: 'a deep symlink in the middle of a path', from: 'containerd TestBreakouts/SymlinkUpAndOut', tar: t({ name: 'a/b/c', type: '2', linkname: '../../..' }, { name: 'a/b/c/victim', body: 'x' }), reject: 'LAYERFS_UNSAFE_PATH' },
  { name: 'a symlink replaced by a file is not followed', from: 'layerfs', tar: t({ name: 'x', type: '2', linkname: '../victim' }, { name: 'x', body: 'mine' }), check: (d) => expect(read(d, 'x')).toBe('mine') },
  { name: 'absolute and .. symlink targets are stored as written', from: 'containerd TestRelativeSymlinks', tar: t({ name: 'abs', type: '2', linkname: '/etc/shadow' }, { name: 'rel', type: '2', linkname: '../../../../victim' }), check: (d) => { expect(fs.readlinkSync(path.join(d, 'abs'))).toBe('/etc/shadow'); expect(fs.readlinkSync(path.join(d, 'rel'))).toBe('../../../../victim'); } },
  // hardlinks
  { name: 'hardlink to ../victim', from: 'moby TestUntarInvalidHardlink', tar: t({ name: 'h', type: '1', linkname: '../victim' }), reject: 'LAYERFS_UNSAFE_PATH' },
  { name: 'hardlink to an absolute victim', from: 'containerd TestBreakouts/HardlinkDirectAbsolute', tar: t({ name: 'h', type: '1', linkname: '/etc/passwd' }), reject: 'LAYERFS_UNSAFE_PATH' },
  { name: 'hardlink with .. inside its target', from: 'containerd TestBreakouts/HardlinkDirectRelative', tar: t({ name: 'a/f', body: 'x' }, { name: 'h', type: '1', linkname: 'a/../../victim' }), reject: 'LAYERFS_UNSAFE_PATH' },
  { name: 'hardlink through a symlink', from: 'containerd TestBreakouts/HardlinkRelative', tar: t({ name: 'l', type: '2', linkname: '..' }, { name: 'h', type: '1', linkname: 'l/victim' }), reject: 'LAYERFS_UNSAFE_PATH' },
  { name: 'hardlink to itself', from: 'layerfs', tar: t({ name: 'h', type: '1', linkname: 'h' }), reject: 'LAYERFS_UNSAFE_PATH' },
  { name: 'hardlink to a directory', from: 'moby TestUntarInvalidHardlink', tar: t({ name: 'd/', type: '5' }, { name: 'h', type: '1', linkname: 'd' }), reject: 'LAYERFS_UNSAFE_PATH' },
  { name: 'hardlink to nothing in the layer', from: 'layerfs', tar: t({ name: 'h', type: '1', linkname: 'missing' }), reject: 'LAYERFS_UNSAFE_PATH' },
  { name: 'hardlink via a PAX linkpath with ..', from: 'layerfs', tar: t({ name: 'h', type: '1', linkname: 'x', pax: { linkpath: '../../victim' } }), reject: 'LAYERFS_UNSAFE_PATH' },
  { name: 'hardlink to a symlink links the symlink itself', from: 'moby TestUntarHardlinkToSymlink', tar: t({ name: 's', type: '2', linkname: '../victim' }, { name: 'h', type: '1', linkname: 's' }), check: (d) => { expect(isLink(d, 'h')).toBe(true); expect(fs.lstatSync(path.join(d, 'h')).ino).toBe(fs.lstatSync(path.join(d, 's')).ino); } },
  { name: 'duplicate entries: later wins, never writing into a multiply-linked inode', from: 'layerfs', tar: t({ name: 'a', body: 'one' }, { name: 'b', type: '1', linkname: 'a' }, { name: 'a', body: 'two' }), check: (d) => { expect(read(d, 'a')).toBe('two'); expect(read(d, 'b')).toBe('one'); } },
  { name: 'a file then a directory of the same name', from: 'layerfs', tar: t({ name: 'x', body: 'f' }, { name: 'x/', type: '5' }, { name: 'x/y', body: 'y' }), check: (d) => expect(read(d, 'x/y')).toBe('y') },
  { name: 'a non-directory in the middle of a path', from: 'layerfs', tar: t({ name: 'f', body: 'file' }, { name: 'f/x', body: 'x' }), reject: 'LAYERFS_UNSAFE_PATH' },
  // whiteouts
  { name: '.wh. with nothing after', from: 'layerfs', tar: t({ name: '.wh.', body: '' }), reject: 'LAYERFS_UNSAFE_PATH' },
  { name: '.wh..', from: 'containerd TestBreakouts/WhiteoutRoot', tar: t({ name: '.wh..', body: '' }), reject: 'LAYERFS_UNSAFE_PATH' },
  { name: '.wh...', from: 'containerd TestBreakouts/WhiteoutRootParent', tar: t({ name: '.wh...', body: '' }), reject: 'LAYERFS_UNSAFE_PATH' },
  { name: 'a/.wh..', from: 'containerd TestBreakouts/WhiteoutCurrentDirectory', tar: t({ name: 'a/.wh..', body: '' }), reject: 'LAYERFS_UNSAFE_PATH' },
  { name: 'whiteout under a symlinked parent (link -> /etc)', from: 'containerd TestBreakouts/WhiteoutSymlinkPath', tar: t({ name: 'link', type: '2', linkname: '/etc' }, { name: 'link/.wh.passwd', body: '' }), reject: 'LAYERFS_UNSAFE_PATH' },
  { name: 'opaque marker under a file parent', from: 'layerfs', tar: t({ name: 'f', body: 'x' }, { name: 'f/.wh..wh..opq', body: '' }), reject: 'LAYERFS_UNSAFE_PATH' },
  { name: 'a whiteout that is a directory', from: 'containerd TestBreakouts/WhiteoutDirectoryName', tar: t({ name: '.wh.d/', type: '5' }), reject: 'LAYERFS_UNSAFE_PATH' },
  { name: 'whiteout before the same-layer entry: the entry survives', from: 'layerfs', tar: t({ name: '.wh.x', body: '' }, { name: 'x', body: 'kept' }), check: (d) => expect(read(d, 'x')).toBe('kept') },
  { name: 'whiteout after the same-layer entry: the entry survives', from: 'layerfs', tar: t({ name: 'x', body: 'kept' }, { name: '.wh.x', body: '' }), check: (d) => expect(read(d, 'x')).toBe('kept') },
  { name: 'opaque marker before and after its directory entry', from: 'layerfs', tar: t({ name: 'o/.wh..wh..opq', body: '' }, { name: 'o/', type: '5', mode: 0o700 }, { name: 'p/', type: '5' }, { name: 'p/.wh..wh..opq', body: '' }, { name: 'p/kid', body: 'k' }), check: (d, f) => { expect(read(d, 'p/kid')).toBe('k'); if (f !== 'oci') expect(lgetxattrSync(path.join(d, 'o'), opaqueXattr)?.toString()).toBe('y'); } },
  { name: 'a forged device record (user.layerfs.device, what a user namespace keeps for a device) is not applied', from: 'layerfs', tar: t({ name: 'f', body: '', pax: { 'SCHILY.xattr.user.layerfs.device': 'b 8 0' } }), check: (d) => expect(lgetxattrSync(path.join(d, 'f'), 'user.layerfs.device')).toBeNull() },
  { name: 'a character device 0/0 (a smuggled overlay whiteout)', from: 'layerfs', tar: t({ name: 'x', type: '3', devmajor: 0, devminor: 0 }), reject: 'LAYERFS_UNSAFE_PATH' },
  // headers
  { name: 'a name with NUL (PAX)', from: 'layerfs', tar: t({ name: 'x', body: 'x', pax: { path: Buffer.from('ok\0/../../victim') } }), reject: 'LAYERFS_UNSAFE_PATH' },
  { name: 'a PAX size that is negative', from: 'layerfs', tar: t({ name: 'x', body: 'x', pax: { size: '-1' } }), reject: 'LAYERFS_BAD_TAR' },
  { name: 'a PAX size that is huge', from: 'layerfs', tar: t({ name: 'x', body: 'x', pax: { size: '100000000000000000000' } }), reject: 'LAYERFS_BAD_TAR' },
  { name: 'a PAX record whose length lies', from: 'layerfs', tar: () => meta('x', Buffer.from('99 path=a\n'), rawTar([{ name: 'b', body: 'b' }])), reject: 'LAYERFS_BAD_TAR' },
  { name: 'a PAX mtime that is not a number', from: 'layerfs', tar: t({ name: 'x', body: 'x', pax: { mtime: 'yesterday' } }), reject: 'LAYERFS_BAD_TAR' },
  { name: 'a PAX uid out of range', from: 'layerfs', tar: t({ name: 'x', body: 'x', pax: { uid: '-7' } }), reject: 'LAYERFS_BAD_TAR' },
  { name: 'a PAX header over 1 MiB', from: 'layerfs', tar: t({ name: 'x', body: 'x', pax: { comment: 'c'.repeat((1 << 20) + 1) } }), reject: 'LAYERFS_LIMIT' },
  { name: 'a GNU long name over 1 MiB', from: 'layerfs', tar: () => meta('L', Buffer.alloc((1 << 20) + 1, 0x61), rawTar([{ name: 'x', body: 'x' }])), reject: 'LAYERFS_LIMIT' },
  { name: 'a GNU long link target that is absolute', from: 'layerfs', tar: () => meta('K', Buffer.from('/etc/passwd\0'), rawTar([{ name: 'h', type: '1', linkname: 'x' }])), reject: 'LAYERFS_UNSAFE_PATH' },
  { name: 'a global PAX header that sets a path applies to no entry (as Go reads it)', from: 'layerfs', tar: () => meta('g', Buffer.from('18 path=../victim\n'), rawTar([{ name: 'x', body: 'x' }])), check: (d) => { expect(read(d, 'x')).toBe('x'); expect(fs.readdirSync(d)).toEqual(['x']); } },
  { name: 'a path deeper than 1024 components', from: 'CVE-2024-28863', tar: t({ name: 'x', body: 'x', pax: { path: Array(1025).fill('d').join('/') } }), reject: 'LAYERFS_LIMIT' },
  { name: 'a header with a bad checksum', from: 'layerfs', tar: t({ name: 'x', body: 'x', badChecksum: true }), reject: 'LAYERFS_BAD_TAR' },
  { name: 'an unsupported entry type (GNU sparse)', from: 'layerfs', tar: t({ name: 'x', type: 'S', body: 'x' }), reject: 'LAYERFS_BAD_TAR' },
  { name: 'a stream cut inside an entry', from: 'layerfs', tar: () => rawTar([{ name: 'x', body: 'y'.repeat(4000) }]).subarray(0, 2000), reject: 'LAYERFS_BAD_TAR' },
  // as Go's archive/tar (containerd, moby) reads it: a directory has no data, so its "body" is read as the next header
  { name: 'a directory entry with a body is read as the container tools read it: the body is a bad header', from: 'layerfs', tar: t({ name: 'd/', type: '5', body: 'sneaky body' }, { name: 'd/f', body: 'f' }), reject: 'LAYERFS_BAD_TAR' },
  { name: 'NFC and NFD names are two names', from: 'CVE-2021-37712', tar: t({ name: 'caf\u00e9', body: 'nfc' }, { name: 'cafe\u0301', body: 'nfd' }), check: (d) => { expect(read(d, 'caf\u00e9')).toBe('nfc'); expect(read(d, 'cafe\u0301')).toBe('nfd'); } },
  { name: 'overlay xattrs in a layer are never applied', from: 'layerfs', tar: t({ name: 'f', body: 'x', pax: { 'SCHILY.xattr.trusted.overlay.redirect': '/etc', 'SCHILY.xattr.trusted.overlay.metacopy': '' } }), check: (d) => { if (root) expect(lgetxattrSync(path.join(d, 'f'), 'trusted.overlay.redirect')).toBeNull(); } },
  { name: 'setuid and security.capability are kept exactly (as root)', from: 'layerfs', tar: t({ name: 'su', body: 's', mode: 0o4755, pax: { 'SCHILY.xattr.security.capability': Buffer.from('0100000200200000000000000000000000000000', 'hex') } }), check: (d) => { expect(fs.statSync(path.join(d, 'su')).mode & 0o7777).toBe(0o4755); if (root) expect(lgetxattrSync(path.join(d, 'su'), 'security.capability')?.toString('hex')).toBe('0100000200200000000000000000000000000000'); } },
  { name: 'a directory of mode 000 still gets its children', from: 'layerfs', tar: t({ name: 'locked/', type: '5', mode: 0o000 }, { name: 'locked/f', body: 'x' }), check: (d) => expect(fs.statSync(path.join(d, 'locked')).mode & 0o777).toBe(0) },
  // zeros compress about 1030:1 and are a legitimate layer (test/store/limits.test.ts); what bounds any input is the absolute cap
  { name: 'a gzip bomb over the uncompressed cap', from: 'layerfs', tar: () => gzip(rawTar([{ name: 'zeros', body: Buffer.alloc(200 << 20) }])), options: { maxUncompressedBytes: 64 << 20 }, reject: 'LAYERFS_LIMIT' },
];

let work: string;
let victimDir: string;
beforeAll(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'layerfs-security-'));
});
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

function plant(): void {
  victimDir = path.join(work, 'outside');
  fs.rmSync(victimDir, { recursive: true, force: true });
  fs.mkdirSync(victimDir);
  fs.writeFileSync(path.join(victimDir, 'victim'), 'precious');
  fs.chmodSync(path.join(victimDir, 'victim'), 0o600);
  fs.utimesSync(path.join(victimDir, 'victim'), 1000, 1000);
}

function victimIntact(): void {
  const v = path.join(victimDir, 'victim');
  const st = fs.lstatSync(v);
  expect([fs.readFileSync(v, 'utf8'), st.mode & 0o7777, st.mtimeMs, st.nlink]).toEqual(['precious', 0o600, 1000000, 1]);
  expect(fs.readdirSync(victimDir).sort()).toEqual(['store', 'victim']);
  expect(fs.existsSync('/tmp/layerfs-pwned')).toBe(false);
}

/** What the store holds, but its lock file: the store lock (made on first use) holds no data. */
function state(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      out.push(path.relative(dir, path.join(d, e.name)));
      if (e.isDirectory()) walk(path.join(d, e.name));
    }
  };
  walk(dir);
  return out.filter((p) => p !== 'lock').sort();
}

test('the corpus has at least 50 cases', () => expect(cases.length).toBeGreaterThanOrEqual(50));
test('every case names its source', () => {
  const named = /^(containerd Test[A-Za-z]+(\/[A-Za-z]+)?|moby Test[A-Za-z]+|CVE-\d{4}-\d{4,}|GHSA-[\w-]+|layerfs)$/;
  expect([...cases, ...recreated].filter((c) => !named.test(c.from)).map((c) => c.name)).toEqual([]);
});

describe.each(formats)('security corpus (%s whiteouts)', (fmt) => {
  test.each(cases.map((c) => [c.name, c] as const))('%s', async (_n, c) => {
    plant();
    // the store sits beside the victim, inside the directory checked for changes
    const store = await LayerStore.open(path.join(victimDir, 'store'), { whiteout: fmt });
    const before = state(store.root);
    const file = path.join(work, 'case.tar');
    fs.writeFileSync(file, c.tar());
    const r = await store.importLayer(file, c.options ?? {}).then(
      (ref) => ({ ref }),
      (error) => ({ error }),
    );
    if (c.reject) {
      expect('error' in r ? (r.error as { code?: string }).code : 'accepted').toBe(c.reject);
      await new Promise((res) => setTimeout(res, 50));
      expect(state(store.root)).toEqual(before);
    } else {
      if ('error' in r) throw r.error;
      c.check?.(store.paths.layerDiff(r.ref.chainId), fmt);
    }
    victimIntact();
    fs.rmSync(store.root, { recursive: true, force: true });
  });
});

/**
 * One blob, one tree: each case that imports, put on a lower layer that has the names the cases
 * touch, gives the same view in an oci store and in an overlay store. Among them the whiteout of
 * a name this layer then makes again as a directory (`d`, `.wh.d`, `d/`, `d/c`): the lower
 * children stay hidden in both formats.
 */
const recreated: Case[] = [
  { name: 'a file, its whiteout, then a directory of that name', from: 'layerfs', tar: t({ name: 'd', body: 'file' }, { name: '.wh.d', body: '' }, { name: 'd/', type: '5' }, { name: 'd/c', body: 'c' }) },
  { name: 'a whiteout, then a directory of that name', from: 'layerfs', tar: t({ name: '.wh.d', body: '' }, { name: 'd/', type: '5' }, { name: 'd/c', body: 'c' }) },
  { name: 'a directory, its whiteout, a file, then the directory again', from: 'layerfs', tar: t({ name: 'd/', type: '5' }, { name: '.wh.d', body: '' }, { name: 'd', body: 'f' }, { name: 'd/', type: '5' }, { name: 'd/c', body: 'c' }) },
  { name: 'a symlink, its whiteout, then a child that makes the directory', from: 'layerfs', tar: t({ name: 'd', type: '2', linkname: 'x' }, { name: '.wh.d', body: '' }, { name: 'd/', type: '5' }, { name: 'd/c', body: 'c' }) },
  { name: 'a whiteout in a directory this layer then replaces', from: 'layerfs', tar: t({ name: 'a/', type: '5' }, { name: 'a/k', body: 'k' }, { name: 'a/.wh.k', body: '' }, { name: 'a', body: 'now a file' }, { name: 'a/', type: '5' }, { name: 'a/k/', type: '5' }) },
];

function viewOf(store: LayerStore, chain: string): string[] {
  const v = store.view(chain);
  const out: string[] = [];
  for (const e of v.walkSync()) {
    const st = e.stat;
    const what = e.type === 'file' ? v.readFileSync(e.path).toString('hex') : e.type === 'symlink' ? v.readlinkSync(e.path) : '';
    out.push(`${e.path} ${e.type} ${(st.mode & 0o7777).toString(8)} ${st.uid}:${st.gid} ${e.path === '/' ? '' : st.mtimeMs} ${what} ${JSON.stringify(v.xattrsSync(e.path))}`);
  }
  return out;
}

(root ? describe : describe.skip)('one blob gives one tree in both whiteout formats', () => {
  const base = () =>
    rawTar([
      { name: 'd/', type: '5' },
      { name: 'd/lower', body: 'lower' },
      { name: 'a/', type: '5' },
      { name: 'a/k/', type: '5' },
      { name: 'a/k/deep', body: 'deep' },
      { name: 'x', body: 'x' },
      { name: 'l/', type: '5' },
      { name: 'l/victim', body: 'lower victim' },
    ]);
  const both = [...cases.filter((c) => !c.reject && !c.name.includes('gzip bomb')), ...recreated];
  test.each(both.map((c) => [c.name, c] as const))('%s', async (_n, c) => {
    const dir = fs.mkdtempSync(path.join(work, 'both-'));
    const file = path.join(dir, 'case.tar');
    const baseFile = path.join(dir, 'base.tar');
    fs.writeFileSync(file, c.tar());
    fs.writeFileSync(baseFile, base());
    const seen: Record<string, string[] | string> = {};
    for (const fmt of ['oci', overlayFmt] as const) {
      const store = await LayerStore.open(path.join(dir, fmt), { whiteout: fmt });
      const b = await store.importLayer(baseFile);
      seen[fmt] = await store.importLayer(file, { parent: b.chainId }).then(
        (ref) => viewOf(store, ref.chainId),
        (e: { code?: string }) => `refused: ${e.code}`,
      );
    }
    expect(seen[overlayFmt]).toEqual(seen.oci);
    // the lower children of a re-created `d` stay hidden (a whiteout inside a directory the layer replaced went with it)
    if (recreated.includes(c) && Array.isArray(seen.oci) && seen.oci.some((l) => l.startsWith('/d/c '))) expect(seen.oci.filter((l) => l.startsWith('/d/lower '))).toEqual([]);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
