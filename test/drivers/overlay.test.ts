import * as fs from 'fs';
import * as path from 'path';
import * as native from '../../lib/native';
import { LayerStore } from '../../lib/layer-store';
import { OverlayDriver } from '../../lib/drivers/overlay/driver';
import { overlayMismatch } from '../../lib/drivers/mounts';
import { removeContainerDir } from '../../lib/drivers/remove';
import { canMount, cleanup, makeLayer, makeStack, mountedUnder, mountSkipNote, tempDir } from './helpers';

mountSkipNote('overlay driver');
const itMount = canMount ? it : it.skip;
const itNewApi = canMount && native.hasNewMountApi() ? it : it.skip;

let work: string;
let store: LayerStore;
beforeAll(async () => {
  work = tempDir('overlay');
  store = await LayerStore.open(path.join(work, 'store'));
});
afterAll(() => cleanup(work));

/** The overlay's super options, split. */
function superOptions(target: string): Array<[string, string | null]> {
  const m = native.readMountInfo().filter((x) => x.mountPoint === target);
  return native.parseMountOptions(m[m.length - 1].superOptions);
}

describe('overlay driver', () => {
  itMount('probes the kernel once per store and keeps the answer in store.json', async () => {
    const c = await store.createContainer(makeStack(store, 2), { driver: 'overlay' });
    await c.mount();
    const cfg = JSON.parse(fs.readFileSync(store.paths.configFile, 'utf8'));
    expect(cfg.probes.overlay).toMatchObject({ mountable: true, uid: 0, options: ['index=off', 'redirect_dir=off', 'metacopy=off'] });
    expect(cfg.probes.overlay.api).toBe(native.hasNewMountApi() ? 'fsmount' : 'mount');
    // the probe leaves nothing in tmp/ and nothing mounted but the container
    expect(fs.readdirSync(store.paths.tmpDir)).toEqual([]);
    expect(mountedUnder(store.root)).toEqual([c.path]);
    const opts = superOptions(c.path);
    expect(opts).toContainEqual(['upperdir', store.paths.containerUpper(c.id)]);
    for (const k of ['index', 'redirect_dir', 'metacopy']) expect(opts).not.toContainEqual([k, 'on']);
    await c.remove();
  });

  for (const n of [200, 500]) {
    itNewApi(`mounts a chain of ${n} layers and reads a file of the bottom one`, async () => {
      const top = makeStack(store, n);
      const c = await store.createContainer(top, { driver: 'overlay' });
      const merged = await c.mount();
      expect(merged).toBe(store.paths.containerMerged(c.id));
      expect(fs.readFileSync(path.join(merged, 'bottom.txt'), 'utf8')).toBe('from the bottom layer');
      expect(fs.readFileSync(path.join(merged, `f${n - 1}`), 'utf8')).toBe(String(n - 1));
      expect(fs.readdirSync(merged)).toHaveLength(n + 1);
      const opts = superOptions(merged);
      expect(opts.filter(([k]) => k === 'lowerdir+')).toHaveLength(n);
      // top first: the first lower is the chain's top layer
      expect(opts.find(([k]) => k === 'lowerdir+')![1]).toBe(store.paths.layerDiff(top));
      expect(opts).toContainEqual(['upperdir', store.paths.containerUpper(c.id)]);
      fs.writeFileSync(path.join(merged, 'bottom.txt'), 'changed');
      expect(fs.readFileSync(path.join(store.paths.containerUpper(c.id), 'bottom.txt'), 'utf8')).toBe('changed');
      await c.unmount();
      expect(c.isMounted()).toBe(false);
      await c.remove();
      expect(mountedUnder(store.root)).toEqual([]);
      expect(fs.existsSync(store.paths.container(c.id))).toBe(false);
    });
  }

  itMount('falls back to mount(2): absolute paths when they fit in a page, short names through a child process when not', async () => {
    const legacy = new OverlayDriver({ api: 'mount' });
    for (const n of [3, 500]) {
      const c = await store.createContainer(makeStack(store, n), { driver: 'overlay' });
      const merged = await legacy.mount(c);
      expect(fs.readFileSync(path.join(merged, 'bottom.txt'), 'utf8')).toBe('from the bottom layer');
      expect(fs.readdirSync(merged)).toHaveLength(n + 1);
      const lowerdir = superOptions(merged).find(([k]) => k === 'lowerdir')![1]!;
      expect(lowerdir.split(':')).toHaveLength(n);
      if (n === 3) expect(lowerdir.split(':')[2]).toBe(store.layerDirs(c.chain)[0]);
      else expect(lowerdir.startsWith('0:1:2:')).toBe(true);
      expect(overlayMismatch(merged, { upper: store.paths.containerUpper(c.id), lowers: n, off: ['index'] })).toBeNull();
      fs.writeFileSync(path.join(merged, 'x'), 'y');
      expect(fs.existsSync(path.join(store.paths.containerUpper(c.id), 'x'))).toBe(true);
      await c.remove();
    }
    // the symlink directory is gone with its mount done
    expect(fs.readdirSync(store.paths.tmpDir)).toEqual([]);
    expect(mountedUnder(store.root)).toEqual([]);
  });

  itMount('a container on no layers is a plain directory with no mount', async () => {
    const c = await store.createContainer(null, { driver: 'overlay' });
    const p = await c.mount();
    expect(p).toBe(store.paths.containerUpper(c.id));
    expect(mountedUnder(store.root)).toEqual([]);
    expect(c.isMounted()).toBe(true);
    fs.writeFileSync(path.join(p, 'hello'), 'world');
    expect(await c.mounts()).toEqual([{ type: 'bind', source: p, options: ['rbind', 'rw'] }]);
    await c.unmount();
    expect(c.isMounted()).toBe(false);
    await c.remove();
    expect(fs.existsSync(store.paths.container(c.id))).toBe(false);
  });

  itMount('read-only views: an overlay of lowers only, a read-only bind of one layer', async () => {
    const two = makeStack(store, 2);
    const one = makeStack(store, 1);
    for (const [chain, type] of [[two, 'overlay'], [one, 'bind'], [null, 'bind']] as const) {
      const c = await store.createContainer(chain, { driver: 'overlay', readOnly: true });
      const p = await c.mount();
      expect(p).toBe(store.paths.containerMerged(c.id));
      const m = native.readMountInfo().filter((x) => x.mountPoint === p).pop()!;
      expect(m.mountOptions.split(',')[0]).toBe('ro');
      if (type === 'overlay') {
        expect(m.fstype).toBe('overlay');
        expect(superOptions(p).some(([k]) => k === 'upperdir')).toBe(false);
      }
      if (chain) expect(fs.readFileSync(path.join(p, 'bottom.txt'), 'utf8')).toBe('from the bottom layer');
      expect(() => fs.writeFileSync(path.join(p, 'new'), 'x')).toThrow(expect.objectContaining({ code: 'EROFS' }));
      expect((await c.mounts())[0].type).toBe(type);
      await c.remove();
    }
    expect(mountedUnder(store.root)).toEqual([]);
  });

  itMount('mounts() describes the mount for callers that mount by themselves', async () => {
    const top = makeStack(store, 3);
    const c = await store.createContainer(top, { driver: 'overlay' });
    const [spec] = await c.mounts();
    expect(spec.type).toBe('overlay');
    expect(spec.target).toBe(store.paths.containerMerged(c.id));
    expect(spec.options).toEqual(
      expect.arrayContaining([
        'index=off',
        `lowerdir=${store.layerDirs(top).reverse().join(':')}`,
        `upperdir=${store.paths.containerUpper(c.id)}`,
        `workdir=${store.paths.containerWork(c.id)}`,
      ]),
    );
    // mount it by hand with those options: the same tree
    native.mountSync(spec.source, spec.target!, spec.type, 0, spec.options.join(','));
    expect(fs.readFileSync(path.join(spec.target!, 'bottom.txt'), 'utf8')).toBe('from the bottom layer');
    expect(c.isMounted()).toBe(true);
    await c.remove();
    expect(mountedUnder(store.root)).toEqual([]);
  });

  itMount('remove of a busy container: plain unmount retried, lazy unmount only as the last resort', async () => {
    const c = await store.createContainer(makeStack(store, 2), { driver: 'overlay' });
    const merged = await c.mount();
    const fd = fs.openSync(path.join(merged, 'bottom.txt'), 'r');
    try {
      // umount never detaches lazily: a busy container stays mounted
      await expect(c.unmount()).rejects.toMatchObject({ code: 'LAYERFS_BUSY' });
      expect(c.refresh().state).toBe('mounted');
      // a remove refusing the lazy unmount: it stays mounted and nothing is deleted
      await expect(removeContainerDir(c, { noLazy: true })).rejects.toMatchObject({ code: 'LAYERFS_BUSY' });
      expect(native.isMountPoint(merged)).toBe(true);
      expect(fs.existsSync(path.join(merged, 'bottom.txt'))).toBe(true);
      const lazy: string[] = [];
      await c.remove({ onLazy: (t) => lazy.push(t) });
      expect(lazy).toEqual([merged]);
      expect(mountedUnder(store.root)).toEqual([]);
      expect(fs.existsSync(store.paths.container(c.id))).toBe(false);
    } finally {
      fs.closeSync(fd);
    }
    // the layers are untouched by the delete that followed the detach
    expect(fs.readFileSync(path.join(store.layerDirs(c.chain)[0], 'bottom.txt'), 'utf8')).toBe('from the bottom layer');
  });

  itMount('remove unmounts what else is mounted in the container before deleting it', async () => {
    const c = await store.createContainer(makeStack(store, 2), { driver: 'overlay' });
    const merged = await c.mount();
    const inner = path.join(merged, 'inner');
    fs.mkdirSync(inner);
    native.mountSync('tmpfs', inner, 'tmpfs');
    const outside = tempDir('outside');
    try {
      fs.writeFileSync(path.join(outside, 'precious'), 'keep me');
      native.mountSync(outside, path.join(store.paths.container(c.id), 'work'), null, native.constants.MS_BIND);
      await c.remove();
      expect(mountedUnder(store.root)).toEqual([]);
      expect(fs.readFileSync(path.join(outside, 'precious'), 'utf8')).toBe('keep me');
    } finally {
      cleanup(outside);
    }
  });

  itMount('refuses a store whose whiteouts are oci files', async () => {
    const oci = await LayerStore.open(path.join(work, 'oci-store'), { whiteout: 'oci' });
    const top = makeLayer(oci, null, (d) => fs.writeFileSync(path.join(d, 'a'), 'a'));
    await expect(oci.createContainer(top, { driver: 'overlay' })).rejects.toMatchObject({ code: 'LAYERFS_UNSUPPORTED' });
    expect((await oci.createContainer(top, { driver: 'auto' })).driver).toBe('copy');
    expect(fs.readdirSync(oci.paths.tmpDir).filter((n) => !n.includes('trash'))).toEqual([]);
  });
});
