import * as fs from 'fs';
import * as path from 'path';
import { execFileSync } from 'child_process';
import { whiteoutFormat, convertWhiteoutsSync, OCI_OPAQUE_MARKER } from '../../lib/whiteout';
import { UnionView } from '../../lib/view';
import * as native from '../../lib/native';
import { UnsupportedError } from '../../lib/errors';
import type { WhiteoutFormatName } from '../../lib/store/types';
import { makeTempDir, removeTempDir } from '../fixtures/tmp';
import { snapshotTree, diffSnapshots } from '../fixtures/tree';

/**
 * convertWhiteoutsSync rewrites a layer's whiteouts and opaque markings in place: the union the
 * layers stand for must not change, and neither must anything that is not a whiteout.
 */

const canOverlay = process.getuid?.() === 0 && native.addonStatus().available;
if (!canOverlay) console.warn('whiteout conversion tests skipped: the overlay formats need root and the native addon');
const itOverlay = canOverlay ? it : it.skip;

let work: string;
beforeEach(() => (work = makeTempDir('whiteout-convert')));
afterEach(() => {
  if (native.available()) for (const m of native.mountsUnder(work)) native.umount2Sync(m.mountPoint, native.constants.MNT_DETACH);
  removeTempDir(work);
});

function put(dir: string, rel: string, content = rel): void {
  fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
  fs.writeFileSync(path.join(dir, rel), content);
}

/** A three-layer chain in oci format with whiteouts of files and directories, opaque directories, and their neighbours. */
function ociChain(): string[] {
  const [l0, l1, l2] = ['l0', 'l1', 'l2'].map((n) => path.join(work, n));
  const oci = whiteoutFormat('oci');
  for (const f of ['a', 'b/x', 'b/y', 'd/x', 'd/sub/z', 'same/old', 'same-file', 'keep/k', '.wh.dir/in']) put(l0, f);
  fs.mkdirSync(l1);
  oci.writeWhiteoutSync(l1, 'a');
  put(l1, 'b/new');
  oci.writeWhiteoutSync(path.join(l1, 'b'), 'x');
  put(l1, 'd/mine');
  oci.markOpaqueSync(path.join(l1, 'd'));
  put(l1, 'same/mine'); // a whiteout of `same` beside a directory `same` of the same layer
  oci.writeWhiteoutSync(l1, 'same');
  put(l1, 'same-file', 'replaced');
  oci.writeWhiteoutSync(l1, 'same-file');
  oci.writeWhiteoutSync(l1, 'nothing-below');
  fs.writeFileSync(path.join(l1, '.wh.'), 'junk, not a whiteout');
  put(l2, 'e/deep/er/f');
  oci.markOpaqueSync(path.join(l2, 'e', 'deep'));
  fs.mkdirSync(path.join(l2, 'b'));
  oci.writeWhiteoutSync(path.join(l2, 'b'), 'y');
  return [l0, l1, l2];
}

const snap = (dirs: string[], fmt: WhiteoutFormatName) => snapshotTree(new UnionView(dirs, fmt));

/** Every name under `dir`, with its type and (for directories) opaque xattrs, as words. */
function representation(dir: string): string[] {
  const out: string[] = [];
  const visit = (real: string, rel: string) => {
    for (const n of fs.readdirSync(real).sort()) {
      const p = path.join(real, n);
      const st = fs.lstatSync(p);
      const kind = st.isCharacterDevice() ? `char ${st.rdev}` : st.isDirectory() ? 'dir' : 'file';
      const marks = st.isDirectory() && native.available() ? ['trusted', 'user'].filter((ns) => native.lgetxattrSync(p, `${ns}.overlay.opaque`) !== null).map((ns) => ` ${ns}-opaque`) : [];
      out.push(`${rel}${n} ${kind}${marks.join('')}`);
      if (st.isDirectory()) visit(p, `${rel}${n}/`);
    }
  };
  visit(dir, '');
  return out;
}

itOverlay('oci -> overlay -> oci keeps the union, and writes each format’s own form', () => {
  const dirs = ociChain();
  const before = snap(dirs, 'oci');
  for (const d of dirs) convertWhiteoutsSync(d, 'oci', 'overlay');
  expect(diffSnapshots(snap(dirs, 'overlay'), before)).toEqual([]);
  expect(representation(dirs[1])).toEqual([
    '.wh. file',
    'a char 0',
    'b dir',
    'b/new file',
    'b/x char 0',
    'd dir trusted-opaque',
    'd/mine file',
    'nothing-below char 0',
    'same dir trusted-opaque', // its whiteout became the directory's opacity
    'same/mine file',
    'same-file file',
  ]);
  expect(representation(dirs[2])).toContain('e/deep dir trusted-opaque');
  expect(representation(dirs[0])).toContain('.wh.dir dir'); // an ordinary directory in both formats

  for (const d of dirs) convertWhiteoutsSync(d, 'overlay', 'oci');
  expect(diffSnapshots(snap(dirs, 'oci'), before)).toEqual([]);
  expect(representation(dirs[1])).toEqual([
    '.wh. file',
    '.wh.a file',
    '.wh.nothing-below file',
    'b dir',
    'b/.wh.x file',
    'b/new file',
    'd dir',
    `d/${OCI_OPAQUE_MARKER} file`,
    'd/mine file',
    'same dir',
    `same/${OCI_OPAQUE_MARKER} file`,
    'same/mine file',
    'same-file file',
  ]);
});

itOverlay('overlay <-> overlay-userxattr moves the opaque xattr to the other namespace and leaves the whiteouts alone', () => {
  const dirs = ociChain();
  for (const d of dirs) convertWhiteoutsSync(d, 'oci', 'overlay');
  const before = snap(dirs, 'overlay');
  const ino = fs.lstatSync(path.join(dirs[1], 'a')).ino;
  for (const d of dirs) convertWhiteoutsSync(d, 'overlay', 'overlay-userxattr');
  expect(diffSnapshots(snap(dirs, 'overlay-userxattr'), before)).toEqual([]);
  expect(fs.lstatSync(path.join(dirs[1], 'a')).ino).toBe(ino);
  expect(representation(dirs[1])).toContain('d dir user-opaque');
  expect(representation(dirs[1]).some((r) => r.includes('trusted-opaque'))).toBe(false);
  for (const d of dirs) convertWhiteoutsSync(d, 'overlay-userxattr', 'overlay');
  expect(diffSnapshots(snap(dirs, 'overlay'), before)).toEqual([]);
  expect(representation(dirs[1])).toContain('d dir trusted-opaque');
});

itOverlay('a converted chain mounts as the oci view said', () => {
  const dirs = ociChain();
  const expected = snap(dirs, 'oci');
  for (const d of dirs) convertWhiteoutsSync(d, 'oci', 'overlay');
  const mnt = path.join(work, 'mnt');
  fs.mkdirSync(mnt);
  execFileSync('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${[...dirs].reverse().join(':')}`, mnt]);
  try {
    expect(diffSnapshots(snapshotTree(mnt), expected)).toEqual([]);
  } finally {
    execFileSync('umount', [mnt]);
  }
});

itOverlay('an opaque xattr that does not mean opaque is dropped, not carried over', () => {
  const d = path.join(work, 'l');
  put(d, 'x/f');
  native.lsetxattrSync(path.join(d, 'x'), 'trusted.overlay.opaque', Buffer.from('x'));
  convertWhiteoutsSync(d, 'overlay', 'oci');
  expect(representation(d)).toEqual(['x dir', 'x/f file']);
});

itOverlay('names that are not UTF-8 convert byte for byte', () => {
  const d = path.join(work, 'l');
  fs.mkdirSync(d);
  const name = Buffer.from([0x6e, 0xe9, 0xff]);
  whiteoutFormat('oci').writeWhiteoutSync(d, name);
  convertWhiteoutsSync(d, 'oci', 'overlay');
  expect(fs.readdirSync(d, { encoding: 'buffer' })).toEqual([name]);
  expect(fs.lstatSync(Buffer.concat([Buffer.from(d + '/'), name])).isCharacterDevice()).toBe(true);
  convertWhiteoutsSync(d, 'overlay', 'oci');
  expect(fs.readdirSync(d, { encoding: 'buffer' })).toEqual([Buffer.concat([Buffer.from('.wh.'), name])]);
});

describe('a layer the other format cannot hold is refused before anything changes', () => {
  itOverlay('an ordinary .wh.NAME file or opaque-marker-named file cannot become oci', () => {
    for (const bad of ['.wh.x', OCI_OPAQUE_MARKER]) {
      const d = path.join(work, `l${bad}`);
      put(d, 'a/b/c');
      whiteoutFormat('overlay').writeWhiteoutSync(d, 'gone');
      whiteoutFormat('overlay').markOpaqueSync(path.join(d, 'a'));
      put(d, `a/b/${bad}`, 'an ordinary file in overlay format');
      const before = representation(d);
      expect(() => convertWhiteoutsSync(d, 'overlay', 'oci')).toThrow(UnsupportedError);
      expect(() => convertWhiteoutsSync(d, 'overlay', 'oci')).toThrow(`${d}/a/b/${bad} is an ordinary entry`);
      expect(representation(d)).toEqual(before);
    }
  });

  itOverlay('an ordinary 0/0 character device cannot become overlay', () => {
    const d = path.join(work, 'l');
    put(d, 'dev/keep');
    whiteoutFormat('oci').writeWhiteoutSync(d, 'gone');
    native.mknodSync(path.join(d, 'dev', 'zero-zero'), fs.constants.S_IFCHR | 0o600, 0, 0);
    const before = representation(d);
    expect(() => convertWhiteoutsSync(d, 'oci', 'overlay')).toThrow(/zero-zero is an ordinary entry that overlay would read as a whiteout/);
    expect(representation(d)).toEqual(before);
  });
});

test('converting a format to itself changes nothing', () => {
  const dirs = ociChain();
  const before = dirs.map(representation);
  for (const d of dirs) convertWhiteoutsSync(d, 'oci', 'oci');
  expect(dirs.map(representation)).toEqual(before);
});
