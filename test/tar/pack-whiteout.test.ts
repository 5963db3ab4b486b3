import * as fs from 'fs';
import * as path from 'path';
import { packToFile, PackSource } from '../../lib/tar/pack-in-worker';
import type { PackEntry, PackOptions } from '../../lib/tar/types';
import { makeTempDir, removeTempDir } from '../fixtures/tmp';
import { itIf } from '../fixtures/peers';
import { gnuList, headers, requireDist, run, setMtime, sha256 } from './pack-helpers';

/** overlay whiteouts: mknod 0/0 and trusted.* xattrs need root; reading the opaque xattr needs the addon */
const itOverlay = itIf(['root', 'addon', 'mknod', 'setfattr']);

let work: string;
beforeAll(requireDist);
beforeEach(() => {
  work = makeTempDir('pack-wh');
});
afterEach(() => removeTempDir(work));

async function packBytes(source: PackSource, opts: PackOptions = {}): Promise<Buffer> {
  const out = path.join(work, `out-${Math.random().toString(36).slice(2)}.tar`);
  await packToFile(source, out, opts);
  return fs.readFileSync(out);
}

/**
 * One layer diff, written in a whiteout format: `top` and `a/gone` deleted, `o` an opaque
 * directory holding `-first` (sorts before the marker's name) and `new`.
 */
function buildDiff(root: string, format: 'oci' | 'overlay' | 'overlay-userxattr'): void {
  const p = (s: string) => path.join(root, s);
  for (const d of ['', 'a', 'o']) fs.mkdirSync(p(d), { recursive: true });
  fs.writeFileSync(p('a/keep'), 'kept');
  fs.writeFileSync(p('o/-first'), 'first');
  fs.writeFileSync(p('o/new'), 'new');
  if (format === 'oci') {
    // odd metadata on the whiteout files: the pack writes whiteouts with fixed metadata
    for (const w of ['.wh.top', 'a/.wh.gone', 'o/.wh..wh..opq']) {
      fs.writeFileSync(p(w), 'ignored content');
      fs.chmodSync(p(w), 0o600);
      setMtime(p(w), 12345);
    }
  } else {
    for (const w of ['top', 'a/gone']) run('mknod', [p(w), 'c', '0', '0']);
    const ns = format === 'overlay' ? 'trusted' : 'user';
    run('setfattr', ['-n', `${ns}.overlay.opaque`, '-v', 'y', p('o')]);
  }
  for (const f of ['a/keep', 'o/-first', 'o/new', 'a', 'o']) setMtime(p(f), 1_600_000_000);
}

const EXPECTED_ORDER = ['.wh.top', 'a/', 'a/.wh.gone', 'a/keep', 'o/', 'o/.wh..wh..opq', 'o/-first', 'o/new'];

describe('whiteouts', () => {
  it('packs an oci-format diff with whiteouts as fixed empty files and the opaque marker first in its directory', async () => {
    const src = path.join(work, 'oci');
    buildDiff(src, 'oci');
    const tar = await packBytes({ dir: src, whiteout: 'oci' });
    const hs = headers(tar);
    expect(hs.map((h) => h.name)).toEqual(EXPECTED_ORDER);
    for (const h of hs.filter((x) => x.name.includes('.wh.'))) expect([h.type, h.size, h.mode, h.uid, h.gid, h.mtime]).toEqual(['0', 0, 0o644, 0, 0, 0]);
    expect(gnuList(path.join(work, fs.readdirSync(work).find((f) => f.startsWith('out-'))!))).toContain('o/.wh..wh..opq');
  });

  it('packs the same bytes from the explicit entries of that diff, in any order', async () => {
    const src = path.join(work, 'oci');
    buildDiff(src, 'oci');
    const fromDir = await packBytes({ dir: src, whiteout: 'oci' });
    const entries: PackEntry[] = [{ path: 'o/new' }, { path: 'a/gone', whiteout: true }, { path: 'o', opaque: true }, { path: 'top', whiteout: true }, { path: 'a/keep' }, { path: 'a' }, { path: 'o/-first' }];
    expect(sha256(await packBytes({ root: src, entries }))).toBe(sha256(fromDir));
  });

  it('uses the mtime clamp on entries but keeps whiteouts at mtime 0', async () => {
    const src = path.join(work, 'oci');
    buildDiff(src, 'oci');
    const tar = await packBytes({ dir: src, whiteout: 'oci' }, { sourceDateEpoch: 1_000_000_000 });
    expect(headers(tar).map((h) => h.mtime)).toEqual([0, 1_000_000_000, 0, 1_000_000_000, 1_000_000_000, 0, 1_000_000_000, 1_000_000_000]);
  });

  itOverlay('packs an overlay-format diff (char 0/0, trusted.overlay.opaque) to the same bytes as the oci-format one', async () => {
    const oci = path.join(work, 'oci');
    const ovl = path.join(work, 'overlay');
    buildDiff(oci, 'oci');
    buildDiff(ovl, 'overlay');
    const a = await packBytes({ dir: oci, whiteout: 'oci' });
    const b = await packBytes({ dir: ovl, whiteout: 'overlay' });
    expect(headers(b).map((h) => h.name)).toEqual(EXPECTED_ORDER);
    expect(sha256(b)).toBe(sha256(a));
  });

  itOverlay('packs an overlay-userxattr diff (user.overlay.opaque) to the same bytes too', async () => {
    const oci = path.join(work, 'oci');
    const ovl = path.join(work, 'userxattr');
    buildDiff(oci, 'oci');
    buildDiff(ovl, 'overlay-userxattr');
    expect(sha256(await packBytes({ dir: ovl, whiteout: 'overlay-userxattr' }))).toBe(sha256(await packBytes({ dir: oci, whiteout: 'oci' })));
  });

  itOverlay('never writes an overlay whiteout as a hardlink, even when overlay shares one inode between them', async () => {
    const ovl = path.join(work, 'overlay');
    buildDiff(ovl, 'overlay');
    fs.linkSync(path.join(ovl, 'top'), path.join(ovl, 'o/zz')); // like overlayfs reusing its whiteout inode
    const tar = await packBytes({ dir: ovl, whiteout: 'overlay' });
    const hs = headers(tar);
    // and `.wh.zz` sorts by its tar name: before `new`
    expect(hs.map((h) => h.name)).toEqual(['.wh.top', 'a/', 'a/.wh.gone', 'a/keep', 'o/', 'o/.wh..wh..opq', 'o/-first', 'o/.wh.zz', 'o/new']);
    expect(hs.every((h) => h.type !== '1')).toBe(true);
  });

  it('refuses a `.wh.` name of a plain directory or of an explicit entry, naming it: every other tool reads it as a whiteout', async () => {
    const src = path.join(work, 'plain');
    buildDiff(src, 'oci');
    await expect(packBytes({ dir: src })).rejects.toMatchObject({ code: 'LAYERFS_UNSAFE_PATH', message: expect.stringContaining('".wh.top"') });
    fs.rmSync(path.join(src, '.wh.top'));
    fs.rmSync(path.join(src, 'a/.wh.gone'));
    await expect(packBytes({ dir: src })).rejects.toMatchObject({ code: 'LAYERFS_UNSAFE_PATH', message: expect.stringContaining('"o/.wh..wh..opq"') });
    // an overlay-format diff holds no .wh. files: one there is a plain name too
    await expect(packBytes({ dir: src, whiteout: 'overlay' })).rejects.toMatchObject({ code: 'LAYERFS_UNSAFE_PATH' });
    for (const p of ['o/.wh..wh..opq', '.wh.x', 'd/.wh.x/y']) {
      await expect(packBytes({ root: src, entries: [{ path: 'a/keep' }, { path: p, source: path.join(src, 'a/keep') }] })).rejects.toMatchObject({ code: 'LAYERFS_UNSAFE_PATH', message: expect.stringContaining(p) });
    }
  });

  it('packs the root of an explicit list as `./`, first', async () => {
    const src = path.join(work, 'rooted');
    buildDiff(src, 'oci');
    fs.chmodSync(src, 0o750);
    const tar = await packBytes({ root: src, entries: [{ path: 'a/keep' }, { path: '.' }, { path: 'a' }] });
    const mode = (rel: string) => fs.lstatSync(path.join(src, rel)).mode & 0o7777;
    expect(headers(tar).map((h) => [h.name, h.mode])).toEqual([['./', 0o750], ['a/', mode('a')], ['a/keep', mode('a/keep')]]);
    await expect(packBytes({ root: src, entries: [{ path: '.', source: path.join(src, 'a/keep') }] })).rejects.toMatchObject({ code: 'LAYERFS_INVALID_ARGUMENT' });
    await expect(packBytes({ root: src, entries: [{ path: '.', whiteout: true }] })).rejects.toMatchObject({ code: 'LAYERFS_INVALID_ARGUMENT' });
  });
});
