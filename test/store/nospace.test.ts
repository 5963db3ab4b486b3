import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { execFileSync } from 'child_process';
import { randomBytes } from 'crypto';
import { LayerStore } from '../../lib/layer-store';

const isRoot = process.getuid?.() === 0;
if (!isRoot) console.warn('ENOSPC test skipped: mounting a small tmpfs needs root');

(isRoot ? test : test.skip)('a full disk in the middle of an import and a commit: a clear error, nothing kept, and it works once space is freed', async () => {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'layerfs-nospace-'));
  const mnt = path.join(work, 'small');
  fs.mkdirSync(mnt);
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=16m', 'tmpfs', mnt]);
  try {
    const src = path.join(work, 'src');
    fs.mkdirSync(src);
    for (let i = 0; i < 5; i++) fs.writeFileSync(path.join(src, `f${i}`), randomBytes(1 << 20));
    const tar = path.join(work, 'l.tar');
    execFileSync('tar', ['-cf', tar, '-C', src, '.']);
    const store = await LayerStore.open(path.join(mnt, 'store'));
    const filler = path.join(mnt, 'filler');
    fs.writeFileSync(filler, Buffer.alloc(8 << 20));
    const before = fs.readdirSync(store.paths.layersDir).length;
    const e = await store.importLayer(tar).catch((x) => x);
    expect(e).toMatchObject({ code: 'LAYERFS_NO_SPACE' });
    expect(e.message).toContain('no space left');
    await new Promise((r) => setTimeout(r, 200));
    expect(fs.readdirSync(store.paths.layersDir)).toHaveLength(before);
    expect(fs.readdirSync(store.paths.tmpDir)).toEqual([]);
    expect(fs.readdirSync(store.paths.blobsDir)).toEqual([]);
    fs.rmSync(filler);
    const ok = await store.importLayer(tar);
    expect(store.hasLayer(ok.chainId)).toBe(true);
    // a commit that cannot fit
    const c = await store.createContainer(null, { driver: 'copy' });
    const root = await c.mount();
    fs.writeFileSync(path.join(root, 'big'), randomBytes(1 << 20));
    fs.writeFileSync(filler, Buffer.alloc(0));
    let n = 0;
    try {
      for (;;) fs.appendFileSync(filler, Buffer.alloc(256 << 10)), n++;
    } catch {
      /* the disk is full now */
    }
    const ce = await c.commit({ compression: 'none' }).catch((x) => x);
    expect(ce).toMatchObject({ code: 'LAYERFS_NO_SPACE' });
    fs.rmSync(filler);
    await new Promise((r) => setTimeout(r, 200));
    expect(fs.readdirSync(store.paths.tmpDir)).toEqual([]);
    const layer = await c.commit({ compression: 'none' });
    expect(store.hasLayer(layer.chainId)).toBe(true);
    expect(n).toBeGreaterThan(0);
    await c.remove();
  } finally {
    execFileSync('umount', ['-l', mnt]);
    fs.rmSync(work, { recursive: true, force: true });
  }
});

/**
 * Issue 19: one failed record write broke gc for good. The temporary of the record was left in
 * images/, and gc, which parsed every file there, then failed with "Unexpected end of JSON input".
 */
(isRoot ? test : test.skip)('a full disk while an image record is written: LAYERFS_NO_SPACE, no temporary left, gc and fsck still work', async () => {
  const { HandLayout, fileImage } = require('../image/image-forms') as typeof import('../image/image-forms');
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'layerfs-nospace-record-'));
  const mnt = path.join(work, 'small');
  fs.mkdirSync(mnt);
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', mnt]);
  try {
    const l = new HandLayout(path.join(work, 'layout'));
    fileImage(l, { f: 'x'.repeat(1000) }, 'latest');
    const store = await LayerStore.open(path.join(mnt, 'store'));
    await store.importImage(l.dir, { name: 'a' });
    // fill the disk to the last byte: the layers are there, only the record needs space
    const filler = path.join(mnt, 'filler');
    for (const chunk of [256 << 10, 4096, 1]) {
      try {
        for (;;) fs.appendFileSync(filler, Buffer.alloc(chunk));
      } catch {
        /* full at this grain */
      }
    }
    const e = await store.importImage(l.dir, { name: 'b' }).catch((x) => x);
    expect(e).toMatchObject({ code: 'LAYERFS_NO_SPACE' });
    expect(e.message).toContain('no space left');
    expect(e.message).toContain('b.json');
    expect(fs.readdirSync(store.paths.imagesDir)).toEqual(['a.json']);
    // a record replaced (written over by rename, writeJsonAtomicSync): the same, and the old record kept whole
    const before = fs.readFileSync(store.paths.image('a'));
    const r = await store.importImage(l.dir, { name: 'a', replace: true }).catch((x) => x);
    expect(r).toMatchObject({ code: 'LAYERFS_NO_SPACE', message: expect.stringContaining('a.json') });
    expect(fs.readdirSync(store.paths.imagesDir)).toEqual(['a.json']);
    expect(fs.readFileSync(store.paths.image('a')).equals(before)).toBe(true);
    await store.gc({ layers: true });
    expect((await store.fsck()).problems).toEqual([]);
    fs.rmSync(filler);
    expect((await store.importImage(l.dir, { name: 'b' })).name).toBe('b');
    expect((await store.listImages()).map((i) => i.name)).toEqual(['a', 'b']);
  } finally {
    execFileSync('umount', ['-l', mnt]);
    fs.rmSync(work, { recursive: true, force: true });
  }
});

/** The other way a record write fails: the rename over the record. Its temporary goes too. */
test('writeJsonAtomicSync: a rename that fails leaves no temporary beside the record', () => {
  const { writeJsonAtomicSync } = require('../../lib/store/records') as typeof import('../../lib/store/records');
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'layerfs-record-rename-'));
  try {
    // a non-empty directory where the record goes: rename(2) fails (EISDIR)
    fs.mkdirSync(path.join(work, 'r.json'));
    fs.writeFileSync(path.join(work, 'r.json', 'x'), '');
    expect(() => writeJsonAtomicSync(path.join(work, 'r.json'), { a: 1 })).toThrow(expect.objectContaining({ code: expect.stringMatching(/^E/) }));
    expect(fs.readdirSync(work)).toEqual(['r.json']);
    writeJsonAtomicSync(path.join(work, 'ok.json'), { a: 1 });
    expect(fs.readdirSync(work).sort()).toEqual(['ok.json', 'r.json']);
    expect(JSON.parse(fs.readFileSync(path.join(work, 'ok.json'), 'utf8'))).toEqual({ a: 1 });
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
});
