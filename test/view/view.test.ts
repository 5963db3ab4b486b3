import * as fs from 'fs';
import * as path from 'path';
import { execFileSync } from 'child_process';
import { UnionView } from '../../lib/view';
import type { ViewEntry } from '../../lib/view';
import { whiteoutFormat } from '../../lib/whiteout';
import * as native from '../../lib/native';
import { NotFoundError } from '../../lib/errors';
import type { WhiteoutFormatName } from '../../lib/store/types';
import { makeTempDir, removeTempDir } from '../fixtures/tmp';
import { snapshotTree, diffSnapshots } from '../fixtures/tree';

/**
 * UnionView semantics, on layer directories built by hand in each whiteout format, and held
 * against a real overlay mount of the same layers where this process may mount.
 */

const isRoot = process.getuid?.() === 0;
const hasAddon = native.addonStatus().available;
/** overlay whiteouts are 0/0 devices (root) with xattrs (the addon) */
const canOverlay = isRoot && hasAddon;
const formats: WhiteoutFormatName[] = canOverlay ? ['oci', 'overlay', 'overlay-userxattr'] : ['oci'];
if (!canOverlay) console.warn(`view tests: the overlay whiteout formats and the mount comparisons are skipped (${isRoot ? '' : 'they need root; '}${hasAddon ? '' : `the native addon is unavailable: ${native.addonStatus().reason}`})`);
/** trusted.* and security.* xattrs need root */
const itXattrs = canOverlay ? it : it.skip;
const itOverlay = canOverlay ? it : it.skip;

let work: string;
beforeEach(() => (work = makeTempDir('view')));
afterEach(() => {
  if (hasAddon) for (const m of native.mountsUnder(work)) native.umount2Sync(m.mountPoint, native.constants.MNT_DETACH);
  removeTempDir(work);
});

type Meta = { mode?: number; xattrs?: Record<string, string> };
/** One path of a layer: a string is a file with that content. */
type Node =
  | string
  | ({ file: string } & Meta)
  | ({ dir: true } & Meta)
  | ({ opaque: true } & Meta)
  | { link: string }
  | { fifo: true }
  | { dev: [major: number, minor: number] }
  | { whiteout: true };
type LayerSpec = Record<string, Node>;

let layerCount = 0;
/** Builds the layer directories (bottom first) in format `fmtName`; parents are made as plain directories. */
function layers(fmtName: WhiteoutFormatName, specs: LayerSpec[]): string[] {
  const fmt = whiteoutFormat(fmtName);
  return specs.map((spec) => {
    const dir = path.join(work, `layer${layerCount++}`);
    fs.mkdirSync(dir);
    const modes: Array<[string, number]> = [];
    for (const p of Object.keys(spec).sort()) {
      const v = spec[p];
      const real = path.join(dir, p);
      fs.mkdirSync(path.dirname(real), { recursive: true });
      if (typeof v === 'string') fs.writeFileSync(real, v);
      else if ('file' in v) fs.writeFileSync(real, v.file);
      else if ('dir' in v || 'opaque' in v) {
        fs.mkdirSync(real, { recursive: true });
        if ('opaque' in v) fmt.markOpaqueSync(real);
      } else if ('link' in v) fs.symlinkSync(v.link, real);
      else if ('fifo' in v) execFileSync('mkfifo', [real]);
      else if ('dev' in v) execFileSync('mknod', [real, 'c', String(v.dev[0]), String(v.dev[1])]);
      else fmt.writeWhiteoutSync(path.dirname(real), path.basename(real));
      if (typeof v === 'object' && 'xattrs' in v && v.xattrs) for (const [k, x] of Object.entries(v.xattrs)) native.lsetxattrSync(real, k, Buffer.from(x));
      if (typeof v === 'object' && 'mode' in v && v.mode !== undefined) modes.push([real, v.mode]);
    }
    for (const [real, mode] of modes.reverse()) fs.chmodSync(real, mode);
    return dir;
  });
}

/** The walk in words: `/d/` for a directory, `/f=content`, `/l->target`, `/x (fifo)`. */
function show(v: UnionView, p = '/'): string[] {
  return [...v.walkSync(p)].map(word);
}
function word(e: ViewEntry): string {
  if (e.type === 'dir') return e.path === '/' ? '/' : e.path + '/';
  if (e.type === 'file') return `${e.path}=${fs.readFileSync(e.realPath, 'utf8')}`;
  if (e.type === 'symlink') return `${e.path}->${fs.readlinkSync(e.realPath)}`;
  return `${e.path} (${e.type})`;
}

describe.each(formats)('UnionView over %s layers', (fmt) => {
  const view = (specs: LayerSpec[]) => new UnionView(layers(fmt, specs), fmt);

  test('a whiteout in a higher layer deletes a file, a directory and everything under it', () => {
    const v = view([
      { 'a/x': '1', 'a/y': '2', b: 'b0', 'c/deep/f': 'f', 'c/g': 'g' },
      { 'a/x': { whiteout: true }, b: { whiteout: true }, c: { whiteout: true } },
    ]);
    expect(show(v)).toEqual(['/', '/a/', '/a/y=2']);
    expect(v.readdirSync('/')).toEqual(['a']);
    for (const gone of ['/a/x', '/b', '/c', '/c/deep', '/c/deep/f']) expect(v.lookupSync(gone)).toBeNull();
    expect(() => v.statSync('/b')).toThrow(NotFoundError);
    expect(() => v.readdirSync('/c')).toThrow(NotFoundError);
    expect(() => v.readFileSync('/a/x')).toThrow(expect.objectContaining({ code: 'LAYERFS_NOT_FOUND' }));
  });

  test('a deleted path comes back when a higher layer writes it again, merging with nothing below the whiteout', () => {
    const v = view([{ 'r/old': 'o', f: 'f0' }, { r: { whiteout: true }, f: { whiteout: true } }, { 'r/new': 'n', f: 'f2' }]);
    expect(show(v)).toEqual(['/', '/f=f2', '/r/', '/r/new=n']);
    expect(v.dirLayersSync('/r')).toEqual([2]);
  });

  test('an entry in the same layer as its whiteout survives it, and the lower one stays hidden', () => {
    const dirs = layers(fmt, [{ 'd/old': 'o', 'd/both': 'lower', f: 'lower f' }, { 'd/mine': 'm', 'd/both': 'upper', f: 'upper f' }]);
    // written after the entries: oci puts .wh.d/.wh.f beside them, overlay makes d opaque
    const f = whiteoutFormat(fmt);
    f.writeWhiteoutSync(dirs[1], 'd');
    f.writeWhiteoutSync(dirs[1], 'f');
    const v = new UnionView(dirs, fmt);
    expect(show(v)).toEqual(['/', '/d/', '/d/both=upper', '/d/mine=m', '/f=upper f']);
    expect(v.dirLayersSync('/d')).toEqual([1]);
    expect(v.lookupSync('/d/old')).toBeNull();
  });

  test('an opaque directory hides the lower children and keeps its own', () => {
    const v = view([
      { 'd/a': 'a0', 'd/sub/f': 's', 'd/keep': 'k0', e: 'e' },
      { d: { opaque: true }, 'd/b': 'b1', 'd/keep': 'k1', 'd/sub/g': 'g1' },
      { 'd/c': 'c2' },
    ]);
    expect(v.readdirSync('/d')).toEqual(['b', 'c', 'keep', 'sub']);
    expect(v.lookupSync('/d/a')).toBeNull();
    expect(v.lookupSync('/d/sub/f')).toBeNull();
    expect(v.readdirSync('/d/sub')).toEqual(['g']);
    expect(v.readFileSync('/d/keep').toString()).toBe('k1');
    expect(v.dirLayersSync('/d')).toEqual([2, 1]);
    expect(v.dirLayersSync('/')).toEqual([2, 1, 0]);
    expect(show(v)).toEqual(['/', '/d/', '/d/b=b1', '/d/c=c2', '/d/keep=k1', '/d/sub/', '/d/sub/g=g1', '/e=e']);
    // the marking of the directory is no entry of it
    expect(v.lookupSync('/d/.wh..wh..opq')).toBeNull();
  });

  test('an opaque directory in the bottom layer, or over nothing, changes nothing', () => {
    const v = view([{ d: { opaque: true }, 'd/a': 'a' }, { n: { opaque: true }, 'n/b': 'b', 'd/c': 'c' }]);
    expect(show(v)).toEqual(['/', '/d/', '/d/a=a', '/d/c=c', '/n/', '/n/b=b']);
  });

  test('a file replaces a directory and a directory replaces a file, across layers', () => {
    const v = view([
      { 'p/in': 'x', q: 'file q', 's/t/u': 'u0' },
      { p: 'now a file', 'q/in': 'y', 's/t': 'now a file' },
      { 'p/again': 'z', 's/t/v': 'v2' },
    ]);
    // p: dir (L2) over a file (L1) over a dir (L0): the file ends the stack, so L0's p/in is gone
    expect(v.lookupSync('/p')!.type).toBe('dir');
    expect(v.dirLayersSync('/p')).toEqual([2]);
    expect(v.lookupSync('/p/in')).toBeNull();
    expect(v.lookupSync('/q')).toMatchObject({ type: 'dir', layer: 1 });
    expect(show(v)).toEqual(['/', '/p/', '/p/again=z', '/q/', '/q/in=y', '/s/', '/s/t/', '/s/t/v=v2']);
    const w = view([{ 'p/in': 'x', 'p/sub/deep': 'd' }, { p: 'a file' }]);
    expect(w.lookupSync('/p')).toMatchObject({ type: 'file', layer: 1 });
    // a path whose parent is not a directory is not found
    expect(w.lookupSync('/p/in')).toBeNull();
    expect(w.lookupSync('/p/sub/deep')).toBeNull();
    expect(() => w.readdirSync('/p')).toThrow(NotFoundError);
    expect(() => w.dirLayersSync('/p')).toThrow(NotFoundError);
    expect(w.dirLayersSync('/')).toEqual([1, 0]);
  });

  test('a symlink over a directory hides it and is not followed', () => {
    const v = view([{ 'd/f': 'f', etc: { dir: true } }, { d: { link: '/etc' } }]);
    expect(v.lookupSync('/d')!.type).toBe('symlink');
    expect(v.readlinkSync('/d')).toBe('/etc');
    expect(v.lookupSync('/d/f')).toBeNull();
    expect(show(v)).toEqual(['/', '/d->/etc', '/etc/']);
  });

  test('a whiteout of a path no lower layer has hides nothing and is never listed', () => {
    const v = view([
      { 'm/a': 'a', bottomwh: { whiteout: true }, 'x/y': 'y' },
      { ghost: { whiteout: true }, 'm/ghost': { whiteout: true }, 'new/ghost': { whiteout: true }, 'new/keep': 'k' },
    ]);
    expect(show(v)).toEqual(['/', '/m/', '/m/a=a', '/new/', '/new/keep=k', '/x/', '/x/y=y']);
    for (const p of ['/ghost', '/m/ghost', '/new/ghost', '/bottomwh']) expect(v.lookupSync(p)).toBeNull();
    // one layer alone: its whiteouts are not entries either
    const top = new UnionView(v.layerDirs.slice(1), fmt);
    expect(show(top)).toEqual(['/', '/m/', '/new/', '/new/keep=k']);
  });

  test('directories nest and merge over many layers', () => {
    const specs: LayerSpec[] = [];
    for (let i = 0; i < 16; i++) {
      const n = String(i).padStart(2, '0');
      const spec: LayerSpec = { [`deep/a/b/f${n}`]: n, [`deep/l${n}`]: n };
      if (i >= 4) spec[`deep/a/b/f${String(i - 4).padStart(2, '0')}`] = { whiteout: true };
      if (i === 10) spec['deep/a/c'] = { opaque: true };
      if (i < 10) spec[`deep/a/c/c${n}`] = n;
      specs.push(spec);
    }
    specs.push({ 'deep/link': { link: '../etc/passwd' }, 'deep/a/c/late': 'late' });
    const v = view(specs);
    expect(v.readdirSync('/deep/a/b')).toEqual(['f12', 'f13', 'f14', 'f15']);
    expect(v.readdirSync('/deep/a/c')).toEqual(['late']);
    expect(v.dirLayersSync('/deep/a/c')).toEqual([16, 10]);
    expect(v.dirLayersSync('/deep/a/b')).toHaveLength(16);
    expect(v.readdirSync('/deep').filter((n) => n.startsWith('l'))).toHaveLength(17);
    expect(v.readFileSync('/deep/a/b/f15').toString()).toBe('15');
    expect(v.lookupSync('/deep/l00')!.layer).toBe(0);
    expect(v.readlinkSync('/deep/link')).toBe('../etc/passwd');
    // paths normalise, and `..` never leaves the root
    expect(v.readFileSync('//deep/./a/b/../b/f13/').toString()).toBe('13');
    expect(v.lookupSync('deep/a')!.path).toBe('/deep/a');
    expect(v.lookupSync('/../../deep/a/')!.path).toBe('/deep/a');
    expect(v.lookupSync('/deep/../..')!.path).toBe('/');
    expect(v.readdirSync('/deep/a/b/../../..')).toEqual(['deep']);
  });

  test('a directory resolved once looks its children up as lookupSync does (whiteouts, opaque directories, a file over a directory)', () => {
    const v = view([
      { 'd/a': 'a0', 'd/gone': 'g0', 'd/sub/f': 's', 'o/x': 'x0', 'o/y': 'y0', f: 'f0', 'fd/z': 'z' },
      { 'd/gone': { whiteout: true }, 'd/b': 'b1', o: { opaque: true }, 'o/y': 'y1', fd: 'a file over a directory' },
    ]);
    const names = ['a', 'b', 'gone', 'sub', 'x', 'y', 'z', 'missing', 'd', 'o', 'f', 'fd'];
    for (const dir of ['/', '/d', '/o', '/d/sub', '/fd', '/f', '/nowhere']) {
      const stack = v.dirStackSync(dir);
      expect(stack === null).toBe(v.lookupSync(dir)?.type !== 'dir');
      for (const n of names) expect(v.lookupInSync(stack, n)).toEqual(v.lookupSync(dir === '/' ? '/' + n : `${dir}/${n}`));
    }
  });

  test('readdir merges the layers in byte order', () => {
    // UTF-16 order would put the emoji (a surrogate pair) before U+E000; UTF-8 byte order puts it after
    const names = ['b', 'B', 'a', 'a-b', 'a.b', 'a0', 'Z', '_', 'é', '\ue000', '😀', 'ß', '~'];
    const specs: LayerSpec[] = [{}, {}, {}];
    names.forEach((n, i) => (specs[i % 3][n] = String(i)));
    const v = view(specs);
    const expected = [...names].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
    expect(v.readdirSync('/')).toEqual(expected);
    expect(v.readdirEntriesSync('/').map((e) => e.path)).toEqual(expected.map((n) => '/' + n));
    expect([...v.walkSync()].slice(1).map((e) => e.path.slice(1))).toEqual(expected);
  });

  test('walk is depth first and sorted by name, a directory before its contents, the root first', () => {
    const v = view([{ 'a/x': 'x', 'a-b': 'ab', 'b/c/d/e': 'e', 'b/c/f': 'f' }, { 'a/w': 'w', 'b/c/d/a': 'a', 'a.z/q': 'q' }]);
    // by name: '/a/...' comes before '/a-b' though '/a-b' < '/a/' as whole paths
    expect(show(v)).toEqual(['/', '/a/', '/a/w=w', '/a/x=x', '/a-b=ab', '/a.z/', '/a.z/q=q', '/b/', '/b/c/', '/b/c/d/', '/b/c/d/a=a', '/b/c/d/e=e', '/b/c/f=f']);
    expect(show(v, '/b/c')).toEqual(['/b/c/', '/b/c/d/', '/b/c/d/a=a', '/b/c/d/e=e', '/b/c/f=f']);
    expect(show(v, '/a-b')).toEqual(['/a-b=ab']);
    expect(show(v, '/nothing')).toEqual([]);
    const root = [...v.walkSync()][0];
    expect(root).toMatchObject({ path: '/', layer: 1, realPath: v.layerDirs[1], type: 'dir' });
    // each entry is what lookup gives
    for (const e of v.walkSync()) expect(v.lookupSync(e.path)).toMatchObject({ path: e.path, realPath: e.realPath, layer: e.layer, type: e.type });
  });

  test('entries carry the lstat of the topmost layer that has them', () => {
    const v = view([{ d: { dir: true, mode: 0o700 }, 'd/f': { file: 'low', mode: 0o600 } }, { d: { dir: true, mode: 0o751 }, 'd/g': { file: 'g', mode: 0o4755 } }]);
    expect(v.statSync('/d').mode & 0o7777).toBe(0o751);
    expect(v.lookupSync('/d')!.layer).toBe(1);
    expect(v.statSync('/d/f').mode & 0o7777).toBe(0o600);
    expect(v.statSync('/d/g').mode & 0o7777).toBe(0o4755);
    expect(v.statSync('/d/f').size).toBe(3);
  });

  test('a view with bigint stats walks the same entries (whiteouts, opaque directories, devices) and gives each its lstat in bigint, times to the ns', () => {
    const dirs = layers(fmt, [
      { 'a/x': '1', 'a/y': '2', b: 'b0', 'c/f': 'f', 'o/old': 'old', d: { dir: true, mode: 0o751 } },
      { 'a/x': { whiteout: true }, b: { whiteout: true }, o: { opaque: true }, 'o/new': 'new', l: { link: 'a' }, p: { fifo: true }, ...(isRoot ? { n: { dev: [1, 3] as [number, number] } } : {}) },
    ]);
    const plain = new UnionView(dirs, fmt);
    const big = new UnionView(dirs, fmt, { bigint: true });
    const entries = [...big.walkSync()];
    expect(entries.map(word)).toEqual(show(plain));
    expect(show(big)).toContain('/o/new=new');
    expect(show(big)).not.toContain('/o/old=old');
    for (const e of entries) {
      const st = e.stat as unknown as fs.BigIntStats;
      expect(typeof st.mtimeNs).toBe('bigint');
      expect(st.mtimeNs).toBe(fs.lstatSync(e.realPath, { bigint: true }).mtimeNs);
      expect(e.type).toBe(plain.lookupSync(e.path)!.type);
    }
    expect(Number(big.statSync('/d').mode) & 0o7777).toBe(0o751);
    expect(big.lookupSync('/b')).toBeNull();
  });

  test('.wh.-named junk is not a whiteout of "", "." or ".."', () => {
    const dirs = layers(fmt, [{ keep: 'k', 'd/x': 'x' }, { 'd/y': 'y' }]);
    for (const junk of ['.wh.', '.wh..', '.wh...']) {
      fs.writeFileSync(path.join(dirs[1], junk), 'junk');
      fs.writeFileSync(path.join(dirs[1], 'd', junk), 'junk');
    }
    const v = new UnionView(dirs, fmt);
    expect(v.readdirSync('/')).toEqual(['.wh.', '.wh..', '.wh...', 'd', 'keep']);
    expect(v.readdirSync('/d')).toEqual(['.wh.', '.wh..', '.wh...', 'x', 'y']);
    expect(v.readFileSync('/.wh..').toString()).toBe('junk');
    expect(v.lookupSync('/d/..')!.path).toBe('/');
  });

  test('an empty chain has nothing, not even a root', () => {
    const v = new UnionView([], fmt);
    expect(v.lookupSync('/')).toBeNull();
    expect([...v.walkSync()]).toEqual([]);
    expect(() => v.readdirSync('/')).toThrow(NotFoundError);
  });

  test('the async forms give what the sync ones give', async () => {
    const v = view([{ 'a/x': 'x', l: { link: 'a/x' } }, { 'a/y': 'y', 'a/x': { whiteout: true } }]);
    expect(await v.lookup('/a/y')).toEqual(v.lookupSync('/a/y'));
    expect(await v.lookup('/a/x')).toBeNull();
    expect((await v.stat('/a/y')).size).toBe(1);
    await expect(v.stat('/a/x')).rejects.toThrow(NotFoundError);
    expect(await v.readdir('/a')).toEqual(['y']);
    expect((await v.readdirEntries('/')).map((e) => e.path)).toEqual(['/a', '/l']);
    expect((await v.readFile('/a/y')).toString()).toBe('y');
    await expect(v.readFile('/a/x')).rejects.toThrow(NotFoundError);
    expect(await v.readlink('/l')).toBe('a/x');
    expect(await v.dirLayers('/a')).toEqual([1, 0]);
    const walked: string[] = [];
    for await (const e of v.walk()) walked.push(word(e));
    expect(walked).toEqual(show(v));
  });

  itXattrs('xattrs pass through; overlay’s own are left out', async () => {
    const v = view([
      { f: { file: 'f', xattrs: { 'user.lower': 'L', 'trusted.overlay.origin': 'o', 'user.overlay.redirect': 'r' } }, d: { dir: true, xattrs: { 'user.dir0': '0' } }, 'd/x': 'x' },
      { d: { dir: true, xattrs: { 'user.dir1': '1', 'security.other': 's' } }, o: { opaque: true, xattrs: { 'user.o': 'o' } } },
    ]);
    const text = (r: Record<string, Buffer>) => Object.fromEntries(Object.entries(r).map(([k, b]) => [k, b.toString()]));
    expect(text(v.xattrsSync('/f'))).toEqual({ 'user.lower': 'L' });
    // a merged directory shows its topmost layer's xattrs
    expect(text(v.xattrsSync('/d'))).toEqual({ 'security.other': 's', 'user.dir1': '1' });
    expect(text(v.xattrsSync('/o'))).toEqual({ 'user.o': 'o' });
    expect(text(await v.xattrs('/d'))).toEqual(text(v.xattrsSync('/d')));
    expect(Object.keys(v.xattrsSync('/d'))).toEqual(['security.other', 'user.dir1']);
    expect(() => v.xattrsSync('/nothing')).toThrow(NotFoundError);
  });

  test('an opaque marking on a layer’s root hides the lower roots', () => {
    // OCI semantics (a root `.wh..wh..opq` deletes everything below); a kernel overlay mount ignores it on a root
    const dirs = layers(fmt, [{ a: 'a', 'd/x': 'x' }, { b: 'b', 'd/y': 'y' }]);
    whiteoutFormat(fmt).markOpaqueSync(dirs[1]);
    const v = new UnionView(dirs, fmt);
    expect(show(v)).toEqual(['/', '/b=b', '/d/', '/d/y=y']);
    expect(v.dirLayersSync('/')).toEqual([1]);
    expect(v.lookupSync('/a')).toBeNull();
  });
});

test('oci: whiteout files and opaque markers are never entries, and `.wh.NAME` directories are ordinary', () => {
  const dirs = layers('oci', [{ x: 'x', dir: 'd', '.wh.dir/in': 'i' }, { o: { opaque: true } }]);
  fs.writeFileSync(path.join(dirs[1], '.wh.x'), '');
  fs.mkdirSync(path.join(dirs[1], '.wh.dir2'));
  fs.writeFileSync(path.join(dirs[1], 'dir2'), 'kept');
  const v = new UnionView(dirs, 'oci');
  expect(v.readdirSync('/')).toEqual(['.wh.dir', '.wh.dir2', 'dir', 'dir2', 'o']);
  expect(v.lookupSync('/.wh.x')).toBeNull();
  expect(v.lookupSync('/o/.wh..wh..opq')).toBeNull();
  expect(v.readdirSync('/o')).toEqual([]);
  expect(v.readFileSync('/.wh.dir/in').toString()).toBe('i');
  // `.wh.` + `.wh..opq` spells the opaque marker, which makes its directory opaque rather than whiten out `.wh..opq`
  const plain = new UnionView(layers('oci', [{ 'd/.wh..opq/in': 'i' }, { 'd/other': '' }]), 'oci');
  expect(plain.readdirSync('/d')).toEqual(['.wh..opq', 'other']);
  expect(plain.lookupSync('/d/.wh..opq')!.type).toBe('dir');
  const marked = new UnionView(layers('oci', [{ 'd/.wh..opq/in': 'i' }, { 'd/.wh..wh..opq': '', 'd/new': 'n' }]), 'oci');
  expect(marked.readdirSync('/d')).toEqual(['new']);
  expect(marked.lookupSync('/d/.wh..opq')).toBeNull();
});

test('overlay formats: a file named .wh.NAME is an ordinary file and hides nothing', () => {
  if (!canOverlay) return;
  const v = new UnionView(layers('overlay', [{ x: 'x' }, { '.wh.x': '', '.wh..wh..opq': '' }]), 'overlay');
  expect(v.readdirSync('/')).toEqual(['.wh..wh..opq', '.wh.x', 'x']);
});

describe('against a real overlay mount of the same layers', () => {
  /** Mounts `dirs` (bottom first) read-only with the `mount` program; unmounted in afterEach. */
  function mount(dirs: string[], fmt: WhiteoutFormatName): string {
    const mnt = fs.mkdtempSync(path.join(work, 'mnt-'));
    const opts = `${fmt === 'overlay-userxattr' ? 'userxattr,' : ''}lowerdir=${[...dirs].reverse().join(':')}`;
    execFileSync('mount', ['-t', 'overlay', 'overlay', '-o', opts, mnt]);
    return mnt;
  }

  /** Everything a layer chain can hold, spread over six layers. */
  const chain: LayerSpec[] = [
    {
      etc: { dir: true, mode: 0o755 },
      'etc/passwd': { file: 'root:x:0:0\n', mode: 0o644, xattrs: { 'user.kept': 'k' } },
      'etc/shadow': { file: 'secret', mode: 0o600 },
      'etc/gone.d/a': 'a',
      'etc/gone.d/sub/b': 'b',
      'usr/bin/tool': { file: '#!/bin/sh\n', mode: 0o4755 },
      'usr/lib/old': 'old',
      'var/cache/c1': 'c1',
      'var/cache/c2': 'c2',
      'tmp': { dir: true, mode: 0o1777 },
      'dev/null': { dev: [1, 3] },
      'dev/fifo': { fifo: true },
      'was-a-dir/child': 'c',
      'was-a-file': 'f',
      'link-to-etc': { link: 'etc' },
      'junk/.wh.': 'j',
    },
    {
      'etc/passwd': { file: 'root:x:0:0\nuser:x:1000:1000\n', mode: 0o644, xattrs: { 'user.changed': 'c', 'trusted.overlay.layerfs-test': 'x' } },
      'etc/gone.d': { whiteout: true },
      'usr/lib/old': { whiteout: true },
      'usr/lib/new': 'new',
      'var/cache': { opaque: true, mode: 0o700 },
      'var/cache/c3': 'c3',
      'was-a-dir': 'now a file',
      'was-a-file/child': 'now a dir',
      'ghost-at-root': { whiteout: true },
      'usr/ghost': { whiteout: true },
      'junk/.wh.x': 'an ordinary file in the overlay formats',
    },
    { 'etc/gone.d/fresh': 'fresh', 'link-to-etc': { whiteout: true }, 'dev/fifo': { whiteout: true } },
    { 'link-to-etc': { dir: true }, 'link-to-etc/inside': 'i', 'usr/bin/tool': { file: 'v2', mode: 0o755 } },
    { 'deep/1/2/3/4/5/f': '5', 'usr/bin/more': 'm', 'var/cache/c3': { whiteout: true } },
    { 'deep/1/2/3/4/5/g': '6', 'deep/1/2/x': { link: '3/4/5/g' }, 'etc/passwd': { file: 'top', mode: 0o640 } },
  ];

  /** The whole tree as paths in walk order, and as records (type, mode, owner, size, content, target, device, xattrs). */
  function compare(v: UnionView, mnt: string): void {
    expect(diffSnapshots(snapshotTree(v), snapshotTree(mnt))).toEqual([]);
    const mountedOrder: string[] = [];
    const visit = (real: string, p: string) => {
      mountedOrder.push(p);
      if (!fs.lstatSync(real).isDirectory()) return;
      for (const n of fs.readdirSync(real).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)))) visit(path.join(real, n), p === '/' ? '/' + n : `${p}/${n}`);
    };
    visit(mnt, '/');
    expect([...v.walkSync()].map((e) => e.path)).toEqual(mountedOrder);
  }

  for (const fmt of ['overlay', 'overlay-userxattr'] as const) {
    itOverlay(`${fmt}: the walk equals the mounted tree: paths, types, modes, sizes, contents, links, devices, xattrs`, () => {
      const dirs = layers(fmt, chain);
      const v = new UnionView(dirs, fmt);
      const mnt = mount(dirs, fmt);
      compare(v, mnt);
      expect(v.readFileSync('/etc/passwd').toString()).toBe('top');
      expect(v.lookupSync('/etc/gone.d/a')).toBeNull();
      expect(v.readdirSync('/etc/gone.d')).toEqual(['fresh']);
      expect(v.readdirSync('/var/cache')).toEqual([]);
      expect(v.lookupSync('/link-to-etc')!.type).toBe('dir');
      expect(v.lookupSync('/dev/null')!.type).toBe('char');
      expect(v.readdirSync('/junk')).toEqual(['.wh.', '.wh.x']);
      for (const p of ['/etc', '/usr/bin', '/deep/1/2/3/4/5', '/var/cache']) expect(v.readdirSync(p)).toEqual(fs.readdirSync(path.join(mnt, p)).sort());
      execFileSync('umount', [mnt]);
    });

    itOverlay(`${fmt}: many layers and opaque directories in the middle of the stack agree with the mount`, () => {
      const specs: LayerSpec[] = [];
      for (let i = 0; i < 24; i++) {
        const spec: LayerSpec = { [`d/l${i}`]: String(i), [`d/s${i % 5}/f${i}`]: String(i) };
        if (i % 7 === 6) spec[`d/s${i % 5}`] = { opaque: true };
        if (i % 4 === 3) spec[`d/l${i - 2}`] = { whiteout: true };
        if (i % 6 === 5) spec[`d/s${(i + 1) % 5}`] = { whiteout: true };
        specs.push(spec);
      }
      const dirs = layers(fmt, specs);
      const v = new UnionView(dirs, fmt);
      compare(v, mount(dirs, fmt));
    });
  }

  itOverlay('whiteouts in a directory only one layer has: overlayfs lists them but cannot stat them; the view never lists them', () => {
    const dirs = layers('overlay', [{ 'other/x': 'x' }, { 'new/keep': 'k', 'new/ghost': { whiteout: true }, 'o/ghost2': { whiteout: true }, o: { opaque: true }, 'o/kept': 'k', 'other/gone': { whiteout: true } }]);
    const v = new UnionView(dirs, 'overlay');
    const mnt = mount(dirs, 'overlay');
    for (const d of ['/new', '/o', '/other']) {
      const statable = fs.readdirSync(path.join(mnt, d)).filter((n) => fs.lstatSync(path.join(mnt, d, n), { throwIfNoEntry: false }) !== undefined);
      expect(v.readdirSync(d)).toEqual(statable.sort());
    }
    expect(v.readdirSync('/new')).toEqual(['keep']);
  });
});
