import * as fs from 'fs';
import * as path from 'path';
import { spawnSync } from 'child_process';
import {
  whiteoutFormat,
  probeWhiteoutFormat,
  isOverlayXattr,
  ociWhiteoutTarget,
  OCI_WHITEOUT_PREFIX,
  OCI_OPAQUE_MARKER,
} from '../../lib/whiteout';
import * as native from '../../lib/native';
import { InvalidArgumentError } from '../../lib/errors';
import { makeTempDir, removeTempDir } from '../fixtures/tmp';
import { readableDist, runAsNobody } from '../fixtures/unprivileged';
import { itIf } from '../fixtures/peers';

/** The three whiteout formats on real files: empty `.wh.` files, 0/0 devices, opaque xattrs. */

const isRoot = process.getuid?.() === 0;
const canOverlay = isRoot && native.addonStatus().available;
if (!canOverlay) console.warn('whiteout format tests: the overlay formats are skipped (they need root and the native addon)');
const itOverlay = canOverlay ? it : it.skip;

let work: string;
beforeEach(() => (work = makeTempDir('whiteout')));
afterEach(() => removeTempDir(work));

const lstat = (...p: string[]) => fs.lstatSync(path.join(work, ...p));
const exists = (...p: string[]) => fs.lstatSync(path.join(work, ...p), { throwIfNoEntry: false }) !== undefined;
const touch = (name: string, content = '') => fs.writeFileSync(path.join(work, name), content);

test('names: the OCI prefixes, overlay xattrs, and whiteout targets that are not names', () => {
  expect(OCI_WHITEOUT_PREFIX).toBe('.wh.');
  expect(OCI_OPAQUE_MARKER).toBe('.wh..wh..opq');
  expect(isOverlayXattr('trusted.overlay.opaque')).toBe(true);
  expect(isOverlayXattr('user.overlay.redirect')).toBe(true);
  expect(isOverlayXattr('user.overlayfoo')).toBe(false);
  expect(isOverlayXattr('security.capability')).toBe(false);
  expect(isOverlayXattr('trusted.other')).toBe(false);
  expect(ociWhiteoutTarget('.wh.passwd')).toBe('passwd');
  expect(ociWhiteoutTarget('.wh..hidden')).toBe('.hidden');
  expect(ociWhiteoutTarget('.wh..wh.plnk')).toBe('.wh.plnk');
  for (const notOne of ['.wh.', '.wh..', '.wh...', OCI_OPAQUE_MARKER, 'passwd', '.whx', 'a.wh.b']) expect(ociWhiteoutTarget(notOne)).toBeNull();
});

test('whiteoutFormat names each format and refuses others', () => {
  expect(whiteoutFormat('oci')).toMatchObject({ name: 'oci', reservedXattrPrefixes: [] });
  expect(whiteoutFormat('overlay')).toMatchObject({ name: 'overlay', reservedXattrPrefixes: ['trusted.overlay.'] });
  expect(whiteoutFormat('overlay-userxattr')).toMatchObject({ name: 'overlay-userxattr', reservedXattrPrefixes: ['user.overlay.'] });
  expect(() => whiteoutFormat('aufs' as never)).toThrow(InvalidArgumentError);
  expect(() => whiteoutFormat('toString' as never)).toThrow(/unknown whiteout format "toString"/);
});

describe('oci', () => {
  const oci = whiteoutFormat('oci');

  test('a whiteout is an empty regular file .wh.NAME, and classify reads it back', () => {
    oci.writeWhiteoutSync(work, 'passwd');
    const st = lstat('.wh.passwd');
    expect(st.isFile() && st.size === 0).toBe(true);
    expect(oci.classify('.wh.passwd', st)).toEqual({ kind: 'whiteout', target: 'passwd' });
    oci.removeWhiteoutSync(work, 'passwd');
    expect(exists('.wh.passwd')).toBe(false);
    oci.removeWhiteoutSync(work, 'passwd'); // absent: nothing to do
  });

  test('an entry of the same name stays beside its whiteout', () => {
    touch('f', 'mine');
    oci.writeWhiteoutSync(work, 'f');
    expect(fs.readFileSync(path.join(work, 'f'), 'utf8')).toBe('mine');
    expect(exists('.wh.f')).toBe(true);
  });

  test('an opaque directory holds a .wh..wh..opq file', () => {
    expect(oci.isOpaqueSync(work)).toBe(false);
    oci.markOpaqueSync(work);
    expect(lstat(OCI_OPAQUE_MARKER).isFile()).toBe(true);
    expect(oci.isOpaqueSync(work)).toBe(true);
    expect(oci.classify(OCI_OPAQUE_MARKER, lstat(OCI_OPAQUE_MARKER))).toEqual({ kind: 'opaque-marker' });
    expect(oci.isOpaqueSync(path.join(work, 'missing'))).toBe(false);
    expect(oci.isOpaqueSync(path.join(work, OCI_OPAQUE_MARKER))).toBe(false); // a file is not a directory
  });

  test('junk names, directories named .wh.x and ordinary files are not whiteouts', () => {
    for (const junk of ['.wh.', '.wh..', '.wh...', 'x', '.whx', '.hidden']) {
      touch(junk);
      expect(oci.classify(junk, lstat(junk))).toBeNull();
    }
    fs.mkdirSync(path.join(work, '.wh.dir'));
    expect(oci.classify('.wh.dir', lstat('.wh.dir'))).toBeNull();
    fs.symlinkSync('nowhere', path.join(work, '.wh.link'));
    expect(oci.classify('.wh.link', lstat('.wh.link'))).toEqual({ kind: 'whiteout', target: 'link' });
  });

  test('names that are not UTF-8 work as Buffers', () => {
    const name = Buffer.from([0x66, 0xff, 0xfe]);
    oci.writeWhiteoutSync(Buffer.from(work), name);
    const listed = fs.readdirSync(work, { encoding: 'buffer' });
    expect(listed).toEqual([Buffer.concat([Buffer.from('.wh.'), name])]);
    oci.removeWhiteoutSync(work, name);
    expect(fs.readdirSync(work)).toEqual([]);
  });
});

describe.each(['overlay', 'overlay-userxattr'] as const)('%s', (fmtName) => {
  const fmt = whiteoutFormat(fmtName);
  const ns = fmtName === 'overlay' ? 'trusted' : 'user';
  const other = fmtName === 'overlay' ? 'user' : 'trusted';

  itOverlay('a whiteout is a character device 0/0 named NAME with no permissions', () => {
    fmt.writeWhiteoutSync(work, 'passwd');
    const st = lstat('passwd');
    expect(st.isCharacterDevice()).toBe(true);
    expect(st.rdev).toBe(0);
    expect(st.mode & 0o7777).toBe(0);
    expect(fmt.classify('passwd', st)).toEqual({ kind: 'whiteout', target: 'passwd' });
    fmt.writeWhiteoutSync(work, 'passwd'); // again: still one whiteout
    expect(lstat('passwd').rdev).toBe(0);
    fmt.removeWhiteoutSync(work, 'passwd');
    expect(exists('passwd')).toBe(false);
    fmt.removeWhiteoutSync(work, 'passwd');
  });

  itOverlay('other devices and .wh.-named files are ordinary entries, and removeWhiteout leaves them', () => {
    native.mknodSync(path.join(work, 'null'), fs.constants.S_IFCHR | 0o666, 1, 3);
    expect(fmt.classify('null', lstat('null'))).toBeNull();
    native.mknodSync(path.join(work, 'blk'), fs.constants.S_IFBLK | 0o600, 0, 0);
    expect(fmt.classify('blk', lstat('blk'))).toBeNull();
    touch('.wh.x');
    touch(OCI_OPAQUE_MARKER);
    expect(fmt.classify('.wh.x', lstat('.wh.x'))).toBeNull();
    expect(fmt.classify(OCI_OPAQUE_MARKER, lstat(OCI_OPAQUE_MARKER))).toBeNull();
    touch('file');
    for (const n of ['null', 'blk', 'file']) fmt.removeWhiteoutSync(work, n);
    expect(['null', 'blk', 'file'].every((n) => exists(n))).toBe(true);
    expect(fmt.isOpaqueSync(work)).toBe(false);
  });

  itOverlay(`an opaque directory has ${ns}.overlay.opaque = y, and only that value in that namespace counts`, () => {
    const d = path.join(work, 'd');
    fs.mkdirSync(d);
    expect(fmt.isOpaqueSync(d)).toBe(false);
    native.lsetxattrSync(d, `${other}.overlay.opaque`, Buffer.from('y'));
    expect(fmt.isOpaqueSync(d)).toBe(false);
    native.lsetxattrSync(d, `${ns}.overlay.opaque`, Buffer.from('x')); // "has xattr whiteouts", not opaque
    expect(fmt.isOpaqueSync(d)).toBe(false);
    fmt.markOpaqueSync(d);
    expect(native.lgetxattrSync(d, `${ns}.overlay.opaque`)!.toString()).toBe('y');
    expect(fmt.isOpaqueSync(d)).toBe(true);
    expect(fs.readdirSync(d)).toEqual([]);
    expect(fmt.isOpaqueSync(path.join(work, 'missing'))).toBe(false);
  });

  itOverlay('a whiteout over an entry of this layer keeps the entry: a directory becomes opaque, anything else stays as it is', () => {
    fs.mkdirSync(path.join(work, 'd'));
    touch('d/kept', 'k');
    touch('f', 'mine');
    fmt.writeWhiteoutSync(work, 'd');
    fmt.writeWhiteoutSync(work, 'f');
    expect(lstat('d').isDirectory()).toBe(true);
    expect(fmt.isOpaqueSync(path.join(work, 'd'))).toBe(true);
    expect(fs.readFileSync(path.join(work, 'f'), 'utf8')).toBe('mine');
  });

  itOverlay('names that are not UTF-8 work as Buffers', () => {
    const name = Buffer.from([0x66, 0xff]);
    fmt.writeWhiteoutSync(work, name);
    const p = Buffer.concat([Buffer.from(work + '/'), name]);
    expect(fs.lstatSync(p).isCharacterDevice()).toBe(true);
    fmt.removeWhiteoutSync(Buffer.from(work), name);
    expect(fs.readdirSync(work)).toEqual([]);
  });
});

describe('probeWhiteoutFormat', () => {
  (canOverlay ? test : test.skip)('picks overlay as root with the addon, and leaves nothing behind', () => {
    expect(probeWhiteoutFormat(work)).toBe('overlay');
    expect(fs.readdirSync(work)).toEqual([]);
  });

  // without the addon it answers oci before touching the disk
  itIf(['addon'])('a missing directory is an error, not a silent oci', () => {
    expect(() => probeWhiteoutFormat(path.join(work, 'missing'))).toThrow(expect.objectContaining({ code: 'ENOENT' }));
  });

  /** Runs `script` in a child node with the compiled library (dist/, which `npm test` builds first). */
  const dist = path.resolve(__dirname, '../../dist/lib');
  const haveDist = fs.existsSync(path.join(dist, 'whiteout', 'index.js'));
  if (!haveDist) console.warn('whiteout format tests: the child-process tests are skipped (build dist/ first: npx tsc -p tsconfig.json)');
  function child(script: string, options: { env?: Record<string, string> } = {}): string {
    const r = spawnSync(process.execPath, ['-e', script, dist, work], { env: { ...process.env, ...options.env }, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`child failed: ${r.stderr}`);
    return r.stdout.trim();
  }

  (haveDist ? test : test.skip)('without the addon: probe picks oci, oci works in pure JS, and the overlay formats say what they miss', () => {
    const out = child(
      `const [dist, work] = process.argv.slice(1);
       const w = require(dist + '/whiteout');
       const { UnionView } = require(dist + '/view');
       const fs = require('fs');
       const probe = w.probeWhiteoutFormat(work);
       fs.mkdirSync(work + '/l0'); fs.mkdirSync(work + '/l1');
       fs.writeFileSync(work + '/l0/a', 'a'); fs.writeFileSync(work + '/l0/b', 'b');
       w.whiteoutFormat('oci').writeWhiteoutSync(work + '/l1', 'a');
       const v = new UnionView([work + '/l0', work + '/l1'], 'oci');
       let overlayError;
       try { w.whiteoutFormat('overlay').writeWhiteoutSync(work + '/l1', 'b'); } catch (e) { overlayError = e.code; }
       console.log(JSON.stringify({ probe, names: v.readdirSync('/'), xattrs: v.xattrsSync('/b'), overlayError }));`,
      { env: { LAYERFS_DISABLE_ADDON: '1' } },
    );
    expect(JSON.parse(out)).toEqual({ probe: 'oci', names: ['b'], xattrs: {}, overlayError: 'LAYERFS_NO_ADDON' });
  });

  (haveDist && canOverlay ? test : test.skip)('as an unprivileged user: probe picks oci', () => {
    fs.chmodSync(work, 0o777);
    // the checkout may not be readable by that user (a clone under a 0700 home): the child gets a readable copy of dist
    const copy = readableDist();
    try {
      const r = runAsNobody(process.execPath, ['-e', `const [dist, work] = process.argv.slice(1); console.log(require(dist + '/dist/lib/whiteout').probeWhiteoutFormat(work));`, copy, work]);
      expect([r.status, r.stderr]).toEqual([0, '']);
      expect(r.stdout.trim()).toBe('oci');
    } finally {
      removeTempDir(copy);
    }
    expect(fs.readdirSync(work)).toEqual([]);
  });
});
