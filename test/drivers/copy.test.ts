import * as fs from 'fs';
import * as path from 'path';
import { execFileSync, spawnSync } from 'child_process';
import { randomBytes } from 'crypto';
import * as native from '../../lib/native';
import { LayerStore } from '../../lib/layer-store';
import { canMount, cleanup, hashTree, makeLayer, makeOpaque, makeWhiteout, mountedUnder, tempDir } from './helpers';
import { sameTree, snapshotDir, snapshotView } from './tree-compare';
import type { TreeSnapshot } from './tree-compare';
import { writeSparse } from '../fixtures/tree';

const isRoot = process.getuid?.() === 0;
const hasAddon = native.addonStatus().available;
const itRoot = isRoot && hasAddon ? it : it.skip;
if (!isRoot || !hasAddon) console.warn('copy driver: owner, device and trusted.* xattr tests skipped: they need root and the native addon');

const hasTool = (t: string) => spawnSync('sh', ['-c', `command -v ${t}`]).status === 0;
const canXfs = canMount && hasTool('mkfs.xfs') && hasTool('losetup') && hasTool('filefrag') && fs.existsSync('/dev/loop-control');
const itXfs = canXfs ? it : it.skip;
if (!canXfs) console.warn('copy driver: reflink test skipped: it needs root, mkfs.xfs, losetup, filefrag and loop devices');

const MTIME = new Date('2021-03-04T05:06:07.891Z');

let work: string;
let store: LayerStore;
let outer: LayerStore;
beforeAll(async () => {
  work = tempDir('copy');
  store = outer = await LayerStore.open(path.join(work, 'store'));
});
afterAll(() => cleanup(work));

describe('copy driver', () => {
  itRoot('materialises every kind of entry: hardlinks, symlinks, devices, fifos, modes, owners, mtimes, xattrs, sparse files', async () => {
    const bottom = makeLayer(store, null, (d) => {
      fs.mkdirSync(path.join(d, 'etc'));
      fs.writeFileSync(path.join(d, 'etc/passwd'), 'root:x:0:0\n');
      fs.writeFileSync(path.join(d, 'suid'), '#!/bin/sh\n');
      fs.chownSync(path.join(d, 'suid'), 1000, 1000);
      fs.chmodSync(path.join(d, 'suid'), 0o4755);
      fs.mkdirSync(path.join(d, 'private'), { mode: 0o700 });
      fs.chownSync(path.join(d, 'private'), 123, 456);
      fs.writeFileSync(path.join(d, 'private/secret'), 's');
      fs.writeFileSync(path.join(d, 'hl-a'), 'linked');
      fs.linkSync(path.join(d, 'hl-a'), path.join(d, 'hl-b'));
      fs.symlinkSync('etc/passwd', path.join(d, 'lnk'));
      fs.symlinkSync('/nowhere', path.join(d, 'dangling'));
      native.mknodSync(path.join(d, 'fifo'), fs.constants.S_IFIFO | 0o644);
      native.mknodSync(path.join(d, 'null'), fs.constants.S_IFCHR | 0o666, 1, 3);
      fs.chmodSync(path.join(d, 'null'), 0o666);
      native.mknodSync(path.join(d, 'loop9'), fs.constants.S_IFBLK | 0o660, 7, 9);
      native.lsetxattrSync(path.join(d, 'etc/passwd'), 'user.note', 'hello');
      native.lsetxattrSync(path.join(d, 'etc/passwd'), 'trusted.secret', Buffer.from([0, 1, 2]));
      native.lsetxattrSync(path.join(d, 'etc'), 'user.dir', 'd');
      writeSparse(path.join(d, 'sparse'), 64 << 20, 10 << 20, 'data in the middle');
      fs.mkdirSync(path.join(d, 'gone-dir'));
      fs.writeFileSync(path.join(d, 'gone-dir/x'), 'x');
      fs.writeFileSync(path.join(d, 'gone'), 'x');
      fs.mkdirSync(path.join(d, 'opaque'));
      fs.writeFileSync(path.join(d, 'opaque/old'), 'old');
      for (const p of ['etc/passwd', 'private', 'etc', 'suid']) fs.utimesSync(path.join(d, p), MTIME, MTIME);
    });
    const top = makeLayer(store, bottom, (d) => {
      makeWhiteout(store, d, 'gone');
      makeWhiteout(store, d, 'gone-dir');
      fs.mkdirSync(path.join(d, 'opaque'));
      makeOpaque(store, path.join(d, 'opaque'));
      fs.writeFileSync(path.join(d, 'opaque/new'), 'new');
    });
    const layersBefore = store.layerDirs(top).map(hashTree);
    const c = await store.createContainer(top, { driver: 'copy' });
    expect(c.driver).toBe('copy');
    const root = await c.mount();
    expect(root).toBe(store.paths.containerRoot(c.id));
    expect(fs.existsSync(store.paths.containerSnapshot(c.id))).toBe(true);
    expect(mountedUnder(store.root)).toEqual([]);
    const at = (p: string) => path.join(root, p);

    expect(fs.readdirSync(root).sort()).toEqual(['dangling', 'etc', 'fifo', 'hl-a', 'hl-b', 'lnk', 'loop9', 'null', 'opaque', 'private', 'sparse', 'suid']);
    expect(fs.readdirSync(at('opaque'))).toEqual(['new']);
    expect(fs.readFileSync(at('lnk'), 'utf8')).toBe('root:x:0:0\n');
    expect(fs.readlinkSync(at('dangling'))).toBe('/nowhere');
    const a = fs.statSync(at('hl-a'));
    expect(fs.statSync(at('hl-b')).ino).toBe(a.ino);
    expect(a.nlink).toBe(2);
    expect(fs.statSync(at('fifo')).isFIFO()).toBe(true);
    const nul = fs.lstatSync(at('null'));
    expect([nul.isCharacterDevice(), nul.rdev, nul.mode & 0o7777]).toEqual([true, fs.lstatSync('/dev/null').rdev, 0o666]);
    const blk = fs.lstatSync(at('loop9'));
    expect([blk.isBlockDevice(), blk.rdev]).toEqual([true, 7 * 256 + 9]);
    const suid = fs.statSync(at('suid'));
    expect([suid.mode & 0o7777, suid.uid, suid.gid]).toEqual([0o4755, 1000, 1000]);
    const priv = fs.statSync(at('private'));
    expect([priv.mode & 0o7777, priv.uid, priv.gid]).toEqual([0o700, 123, 456]);
    for (const p of ['etc/passwd', 'private', 'etc', 'suid']) expect(fs.statSync(at(p)).mtime.getTime()).toBe(MTIME.getTime());
    expect(native.lgetxattrSync(at('etc/passwd'), 'user.note')!.toString()).toBe('hello');
    expect(native.lgetxattrSync(at('etc/passwd'), 'trusted.secret')).toEqual(Buffer.from([0, 1, 2]));
    expect(native.lgetxattrSync(at('etc'), 'user.dir')!.toString()).toBe('d');
    expect(native.llistxattrSync(at('opaque')).filter((n) => n.includes('overlay'))).toEqual([]);

    const sp = fs.statSync(at('sparse'));
    expect(sp.size).toBe(64 << 20);
    expect(sp.blocks * 512).toBeLessThan(1 << 20);
    const buf = Buffer.alloc(18);
    const fd = fs.openSync(at('sparse'), 'r');
    fs.readSync(fd, buf, 0, 18, 10 << 20);
    fs.closeSync(fd);
    expect(buf.toString()).toBe('data in the middle');

    // writing in the copy leaves the layers as they were
    fs.writeFileSync(at('etc/passwd'), 'changed');
    fs.appendFileSync(at('hl-a'), ' and changed');
    fs.rmSync(at('private'), { recursive: true });
    fs.renameSync(at('opaque'), at('moved'));
    fs.chmodSync(at('suid'), 0o755);
    expect(store.layerDirs(top).map(hashTree)).toEqual(layersBefore);
    await c.remove();
    expect(fs.existsSync(store.paths.container(c.id))).toBe(false);
  });

  // with the addon, a batch per directory (and one per file of 1 MiB and more), several at once;
  // without it, file by file, shared with a second thread past the first few hundred files, and
  // files of 1 MiB and more always go to it. Either way links are made once the copies are done.
  describe.each([
    ['by directory (copyEntries)', false],
    ['file by file (no addon in the worker)', true],
  ])('%s', (_how, noAddon) => {
    let envBefore: string | undefined;
    beforeEach(() => {
      envBefore = process.env.LAYERFS_DISABLE_ADDON;
      if (noAddon) process.env.LAYERFS_DISABLE_ADDON = '1';
    });
    afterEach(() => {
      if (envBefore === undefined) delete process.env.LAYERFS_DISABLE_ADDON;
      else process.env.LAYERFS_DISABLE_ADDON = envBefore;
    });
    // without the addon a store reads no overlay whiteouts: it is made in the oci format
    let store: LayerStore;
    beforeAll(async () => {
      store = noAddon ? await LayerStore.open(path.join(work, 'oci-store'), { whiteout: 'oci' }) : outer;
    });
    /** without the addon no xattr is copied */
    const noXattrs = (snap: TreeSnapshot) => (noAddon ? new Map([...snap].map(([p, e]) => [p, { ...e, xattrs: [] }])) : snap);

    itRoot('a tree large enough for two threads: large and small files, hardlinks to both, owners, set-id bits, xattrs', async () => {
      const bottom = makeLayer(store, null, (d) => {
        for (let i = 0; i < 12; i++) {
          fs.mkdirSync(path.join(d, `d${i}`));
          for (let j = 0; j < 60; j++) {
            const f = path.join(d, `d${i}/f${j}`);
            fs.writeFileSync(f, `file ${i}/${j}\n`);
            if (j % 7 === 0) fs.chownSync(f, 1000 + j, 2000 + i);
            if (j % 11 === 0) fs.chmodSync(f, j % 2 ? 0o4755 : 0o2710);
            if (j % 13 === 0) native.lsetxattrSync(f, 'user.n', String(j));
            fs.utimesSync(f, MTIME, new Date(1_600_000_000_000 + i * 1000 + j * 60_000)); // whole seconds: a double of seconds holds them exactly
          }
          // a link between two small files, far apart in the walk
          fs.linkSync(path.join(d, `d${i}/f1`), path.join(d, `d${i}/z-link`));
        }
        fs.mkdirSync(path.join(d, 'sgid'), { mode: 0o2775 });
        fs.chmodSync(path.join(d, 'sgid'), 0o2775);
        fs.chownSync(path.join(d, 'sgid'), 0, 4242);
        fs.writeFileSync(path.join(d, 'sgid/in'), 'x');
        for (const [name, owner, mode] of [['a-big', 1000, 0o4750], ['m-big', 0, 0o644], ['zz-big', 33, 0o600]] as const) {
          const f = path.join(d, name);
          fs.writeFileSync(f, randomBytes((1 << 20) + 4097));
          fs.chownSync(f, owner, owner);
          fs.chmodSync(f, mode);
          native.lsetxattrSync(f, 'trusted.big', name);
          fs.utimesSync(f, MTIME, MTIME);
        }
        // links to a large file, before and after the many small files
        fs.linkSync(path.join(d, 'm-big'), path.join(d, 'b-link-to-m-big'));
        fs.linkSync(path.join(d, 'm-big'), path.join(d, 'd5/link-to-m-big'));
        fs.linkSync(path.join(d, 'm-big'), path.join(d, 'zzz-link-to-m-big'));
        const sparse = path.join(d, 'n-sparse');
        fs.writeFileSync(sparse, '');
        fs.truncateSync(sparse, 32 << 20);
        fs.appendFileSync(sparse, 'end');
      });
      const top = makeLayer(store, bottom, (d) => {
        makeWhiteout(store, d, 'zz-big');
        fs.mkdirSync(path.join(d, 'd3'));
        makeOpaque(store, path.join(d, 'd3'));
        fs.writeFileSync(path.join(d, 'd3/only'), 'only');
        fs.writeFileSync(path.join(d, 'a-big'), randomBytes(3 << 20));
        fs.chmodSync(path.join(d, 'a-big'), 0o6755);
      });
      const c = await store.createContainer(top, { driver: 'copy' });
      const root = await c.mount();
      sameTree(snapshotDir(root), noXattrs(snapshotView(store.view(top))), { mtimes: true });
      expect(fs.statSync(path.join(root, 'a-big')).mode & 0o7777).toBe(0o6755);
      expect(fs.existsSync(path.join(root, 'zz-big'))).toBe(false);
      const big = fs.statSync(path.join(root, 'm-big'));
      expect(big.nlink).toBe(4);
      expect(fs.statSync(path.join(root, 'd5/link-to-m-big')).ino).toBe(big.ino);
      expect(fs.statSync(path.join(root, 'sgid/in')).gid).toBe(4242);
      expect(fs.statSync(path.join(root, 'n-sparse')).blocks * 512).toBeLessThan(1 << 20);
      // the manifest was taken once everything was in place: nothing shows as changed
      expect(await c.diff()).toEqual([]);
      await c.remove();
    });

    // a failure met mid-copy (the filesystem full) leaves no container and no staging behind
    itRoot('a copy that fails midway leaves nothing behind', async () => {
      const mnt = path.join(work, noAddon ? 'full-js' : 'full');
      fs.mkdirSync(mnt);
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', mnt]);
      try {
        const small = await LayerStore.open(path.join(mnt, 'store'), { whiteout: store.whiteout });
        const top = makeLayer(small, null, (d) => {
          fs.mkdirSync(path.join(d, 'dir'));
          for (let i = 0; i < 6; i++) fs.writeFileSync(path.join(d, 'dir', `f${i}`), randomBytes(400 << 10));
        });
        await expect(small.createContainer(top, { driver: 'copy' })).rejects.toMatchObject({ code: 'ENOSPC' });
        expect(await small.listContainers()).toEqual([]);
        expect(fs.readdirSync(small.paths.tmpDir)).toEqual([]);
        expect(fs.readdirSync(small.paths.containersDir)).toEqual([]);
      } finally {
        execFileSync('umount', [mnt]);
      }
    });
  });

  it('a container on no layers is an empty directory', async () => {
    const c = await store.createContainer(null, { driver: 'copy' });
    const root = await c.mount();
    expect(fs.readdirSync(root)).toEqual([]);
    expect(fs.statSync(root).mode & 0o777).toBe(0o755);
    fs.writeFileSync(path.join(root, 'a'), 'a');
    await c.remove();
    expect(fs.existsSync(store.paths.container(c.id))).toBe(false);
  });

  itRoot('a read-only copy container is a read-only bind mount of its copy', async () => {
    const top = makeLayer(store, null, (d) => fs.writeFileSync(path.join(d, 'f'), 'f'));
    const c = await store.createContainer(top, { driver: 'copy', readOnly: true });
    const p = await c.mount();
    expect(p).toBe(store.paths.containerMerged(c.id));
    expect(fs.readFileSync(path.join(p, 'f'), 'utf8')).toBe('f');
    expect(() => fs.writeFileSync(path.join(p, 'g'), 'g')).toThrow(expect.objectContaining({ code: 'EROFS' }));
    expect(await c.mounts()).toEqual([{ type: 'bind', source: store.paths.containerRoot(c.id), target: p, options: ['rbind', 'ro'] }]);
    await c.remove();
    expect(mountedUnder(store.root)).toEqual([]);
  });

  describe('on XFS with reflinks', () => {
    let mnt: string;
    beforeAll(() => {
      if (!canXfs) return;
      const img = path.join(work, 'xfs.img');
      mnt = path.join(work, 'xfs');
      fs.mkdirSync(mnt);
      fs.writeFileSync(img, '');
      fs.truncateSync(img, 320 << 20);
      execFileSync('mkfs.xfs', ['-q', '-m', 'reflink=1', img]);
      // a loop mount whose device is freed when it is unmounted (afterAll's cleanup does that)
      execFileSync('mount', ['-o', 'loop', img, mnt]);
    });

    itXfs('clones files: the copy shares its extents with the layer, and free space does not drop by its size', async () => {
      const xstore = await LayerStore.open(path.join(mnt, 'store'));
      const big = randomBytes(32 << 20);
      const top = makeLayer(xstore, null, (d) => {
        fs.writeFileSync(path.join(d, 'big'), big);
        fs.writeFileSync(path.join(d, 'sparse'), '');
        fs.truncateSync(path.join(d, 'sparse'), 256 << 20);
        fs.appendFileSync(path.join(d, 'sparse'), 'tail');
      });
      execFileSync('sync');
      const free = () => {
        const s = fs.statfsSync(mnt);
        return s.bavail * s.bsize;
      };
      const before = free();
      const c = await xstore.createContainer(top, { driver: 'copy' });
      const root = await c.mount();
      execFileSync('sync');
      expect(before - free()).toBeLessThan(8 << 20);
      const frag = execFileSync('filefrag', ['-v', path.join(root, 'big')]).toString();
      expect(frag).toMatch(/shared/);
      expect(fs.readFileSync(path.join(root, 'big')).equals(big)).toBe(true);
      const sp = fs.statSync(path.join(root, 'sparse'));
      expect(sp.size).toBe((256 << 20) + 4);
      expect(sp.blocks * 512).toBeLessThan(1 << 20);
      // a write to the clone unshares only the copy: the layer keeps its bytes
      const fd = fs.openSync(path.join(root, 'big'), 'r+');
      fs.writeSync(fd, 'overwritten', 0);
      fs.closeSync(fd);
      expect(fs.readFileSync(path.join(xstore.layerDirs(top)[0], 'big')).equals(big)).toBe(true);
      await c.remove();
    });
  });
});
