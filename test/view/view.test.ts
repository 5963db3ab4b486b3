import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { execFileSync } from 'child_process';
import { UnionView } from '../../lib/view';
import { whiteoutFormat, convertWhiteoutsSync } from '../../lib/whiteout';
import { addonStatus } from '../../lib/native';
import type { WhiteoutFormatName } from '../../lib/store/types';

const canOverlay = process.getuid?.() === 0 && addonStatus().available;
const formats: WhiteoutFormatName[] = canOverlay ? ['oci', 'overlay'] : ['oci'];
if (!canOverlay) console.warn('view tests: overlay whiteout format skipped (needs root and the native addon)');

let work: string;
beforeEach(() => (work = fs.mkdtempSync(path.join(os.tmpdir(), 'layerfs-view-'))));
afterEach(() => fs.rmSync(work, { recursive: true, force: true }));

type Spec = Record<string, string | { dir: true } | { link: string } | { whiteout: true } | { opaque: true }>;

/** Builds one layer directory per spec, bottom first, in the given whiteout format. */
function layers(fmtName: WhiteoutFormatName, specs: Spec[]): string[] {
  const fmt = whiteoutFormat(fmtName);
  return specs.map((spec, i) => {
    const dir = path.join(work, `l${i}`);
    fs.mkdirSync(dir);
    for (const [p, v] of Object.entries(spec)) {
      const real = path.join(dir, p);
      fs.mkdirSync(path.dirname(real), { recursive: true });
      if (typeof v === 'string') fs.writeFileSync(real, v);
      else if ('dir' in v) fs.mkdirSync(real, { recursive: true });
      else if ('link' in v) fs.symlinkSync(v.link, real);
      else if ('whiteout' in v) fmt.writeWhiteoutSync(path.dirname(real), path.basename(real));
      else if ('opaque' in v) {
        fs.mkdirSync(real, { recursive: true });
        fmt.markOpaqueSync(real);
      }
    }
    return dir;
  });
}

const listing = (v: UnionView) => [...v.walkSync()].map((e) => `${e.type} ${e.path}${e.type === 'file' ? ' ' + fs.readFileSync(e.realPath, 'utf8') : ''}`);

describe.each(formats)('UnionView (%s whiteouts)', (fmt) => {
  test('whiteouts hide lower entries only; same-layer entries survive', () => {
    const v = new UnionView(
      layers(fmt, [
        { 'a/x': '1', 'a/y': '2', b: 'b0', 'c/deep/f': 'f' },
        { 'a/x': { whiteout: true }, b: { whiteout: true }, c: { whiteout: true }, 'nothing-below': { whiteout: true } },
        { b: 'b2' },
      ]),
      fmt,
    );
    expect(listing(v)).toEqual(['dir /', 'dir /a', 'file /a/y 2', 'file /b b2']);
    expect(v.lookupSync('/a/x')).toBeNull();
    expect(v.lookupSync('/c/deep/f')).toBeNull();
    expect(v.readFileSync('/b').toString()).toBe('b2');
  });

  test('opaque directories hide lower children and keep their own', () => {
    const v = new UnionView(layers(fmt, [{ 'd/old': 'o', 'd/sub/f': 's', e: 'e' }, { d: { opaque: true }, 'd/new': 'n' }]), fmt);
    expect(v.readdirSync('/d')).toEqual(['new']);
    expect(v.lookupSync('/d/sub/f')).toBeNull();
    expect(v.dirLayersSync('/d')).toEqual([1]);
    expect(listing(v)).toEqual(['dir /', 'dir /d', 'file /d/new n', 'file /e e']);
  });

  test('a file over a directory hides it, a directory over a file hides the file', () => {
    const v = new UnionView(layers(fmt, [{ 'p/in': 'x', q: 'file' }, { p: 'now a file', 'q/in': 'y' }]), fmt);
    expect(v.lookupSync('/p')!.type).toBe('file');
    expect(v.lookupSync('/p/in')).toBeNull();
    expect(v.lookupSync('/q')!.type).toBe('dir');
    expect(v.readdirSync('/q')).toEqual(['in']);
    expect(listing(v)).toEqual(['dir /', 'file /p now a file', 'dir /q', 'file /q/in y']);
  });

  test('directories merge over many layers, paths normalise, symlinks are entries', () => {
    const specs: Spec[] = [];
    for (let i = 0; i < 20; i++) specs.push({ [`deep/a/b/f${String(i).padStart(2, '0')}`]: String(i) });
    specs.push({ 'deep/link': { link: '../etc/passwd' } });
    const v = new UnionView(layers(fmt, specs), fmt);
    expect(v.readdirSync('/deep/a/b')).toHaveLength(20);
    expect(v.readFileSync('//deep/./a/b/../b/f00').toString()).toBe('0');
    expect(v.lookupSync('/../../deep/a')!.path).toBe('/deep/a');
    expect(v.readlinkSync('/deep/link')).toBe('../etc/passwd');
    expect(v.dirLayersSync('/deep/a/b')).toHaveLength(20);
  });

  test('.wh.-prefixed junk names are not whiteouts of "", "." or ".."', () => {
    const dir = layers(fmt, [{ keep: 'k' }])[0];
    if (fmt === 'oci') {
      fs.writeFileSync(path.join(dir, '.wh.'), '');
      fs.writeFileSync(path.join(dir, '.wh..'), '');
    }
    const v = new UnionView([dir], fmt);
    expect(v.lookupSync('/keep')).not.toBeNull();
  });
});

(canOverlay ? test : test.skip)('the view equals a real overlay mount of the same layers', () => {
  const dirs = layers('overlay', [
    { 'a/x': '1', 'a/y': '2', b: 'b0', 'c/deep/f': 'f', 'd/old': 'o', p: 'f' },
    { 'a/x': { whiteout: true }, c: { whiteout: true }, d: { opaque: true }, 'd/new': 'n', 'p/in': 'dir now' },
    { b: 'b2', 'e/f': 'e' },
  ]);
  const mnt = path.join(work, 'mnt');
  fs.mkdirSync(mnt);
  execFileSync('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${[...dirs].reverse().join(':')}`, mnt]);
  try {
    const walkReal = (d: string, p: string, out: string[]) => {
      for (const n of fs.readdirSync(d).sort()) {
        const st = fs.lstatSync(path.join(d, n));
        const q = p === '/' ? '/' + n : p + '/' + n;
        out.push(`${st.isDirectory() ? 'dir' : 'file'} ${q}${st.isFile() ? ' ' + fs.readFileSync(path.join(d, n), 'utf8') : ''}`);
        if (st.isDirectory()) walkReal(path.join(d, n), q, out);
      }
      return out;
    };
    const mounted = ['dir /', ...walkReal(mnt, '/', [])];
    expect(listing(new UnionView(dirs, 'overlay'))).toEqual(mounted);
  } finally {
    execFileSync('umount', [mnt]);
  }
});

(canOverlay ? test : test.skip)('convertWhiteoutsSync round-trips between oci and overlay', () => {
  const dirs = layers('oci', [{ a: 'a', 'd/x': 'x' }, { a: { whiteout: true }, d: { opaque: true }, 'd/y': 'y' }]);
  const before = listing(new UnionView(dirs, 'oci'));
  convertWhiteoutsSync(dirs[1], 'oci', 'overlay');
  expect(fs.existsSync(path.join(dirs[1], '.wh.a'))).toBe(false);
  expect(listing(new UnionView(dirs, 'overlay'))).toEqual(before);
  convertWhiteoutsSync(dirs[1], 'overlay', 'oci');
  expect(fs.existsSync(path.join(dirs[1], '.wh.a'))).toBe(true);
  expect(listing(new UnionView(dirs, 'oci'))).toEqual(before);
});
