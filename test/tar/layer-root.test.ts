/**
 * The root directory of a layer: a `./` entry, or `/` as `umoci insert … /` writes it, applies
 * where there is one; otherwise the root takes the lower chain's root (owner, mode, times,
 * xattrs), and with no lower chain the fixed default (0755, root:root, mtime 0): never the
 * process's umask, owner or clock. The view, a mounted container and a commit agree on it.
 */
import * as fs from 'fs';
import * as path from 'path';
import { execFileSync } from 'child_process';
import { LayerStore } from '../../lib/layer-store';
import { applyLayer } from '../../lib/tar/apply-in-worker';
import * as native from '../../lib/native';
import type { WhiteoutFormatName } from '../../lib/types';
import type { DriverName } from '../../lib/container/types';
import { rawTar } from '../fixtures/hostile-tar';
import { hasTool } from '../fixtures/peers';
import { canMount, cleanup, tempDir } from '../drivers/helpers';

const isRoot = process.getuid?.() === 0;
const hasAddon = native.available();
let work: string;
let oldUmask: number;
beforeAll(() => {
  work = tempDir('layer-root');
  oldUmask = process.umask(0o077); // a strict umask must not reach the layer
});
afterAll(() => {
  process.umask(oldUmask);
  cleanup(work);
});

let n = 0;
async function apply(tar: Buffer, lowerDirs?: string[]): Promise<string> {
  const file = path.join(work, `t${++n}.tar`);
  fs.writeFileSync(file, tar);
  const target = path.join(work, `d${n}`);
  fs.mkdirSync(target);
  await applyLayer(file, target, { whiteout: 'oci', lowerDirs });
  return target;
}

const meta = (p: string) => {
  const st = fs.lstatSync(p, { bigint: true });
  return { mode: Number(st.mode) & 0o7777, uid: Number(st.uid), gid: Number(st.gid), mtimeNs: st.mtimeNs };
};

describe('the root entry', () => {
  test('"./" and "/" (also "//" and "/./") give the root its metadata', async () => {
    for (const name of ['./', '/', '//', '/./', '.']) {
      const d = await apply(rawTar([{ name, type: '5', mode: 0o751, uid: 1234, gid: 4321, mtime: 1600000000 }, { name: 'etc/hello', body: 'hi\n' }]));
      expect(meta(d)).toEqual({ mode: 0o751, uid: isRoot ? 1234 : process.getuid!(), gid: isRoot ? 4321 : process.getgid!(), mtimeNs: 1600000000n * 1_000_000_000n });
      expect(fs.readFileSync(path.join(d, 'etc/hello'), 'utf8')).toBe('hi\n');
    }
  });

  test('every other absolute name is refused, and "/" must be a directory', async () => {
    for (const name of ['/etc/passwd', '/..', '/a/', '//x']) {
      await expect(apply(rawTar([{ name, body: 'x' }]))).rejects.toMatchObject({ code: 'LAYERFS_UNSAFE_PATH' });
    }
    await expect(apply(rawTar([{ name: '/', body: 'x' }]))).rejects.toMatchObject({ code: 'LAYERFS_UNSAFE_PATH', message: expect.stringMatching(/non-directory at the root/) });
    await expect(apply(rawTar([{ name: 'h', type: '1', linkname: '/' }]))).rejects.toMatchObject({ code: 'LAYERFS_UNSAFE_PATH' });
  });
});

describe('a root with no entry of its own', () => {
  test('with no lower chain: 0755, root:root, mtime 0, whatever the umask and the clock', async () => {
    const d = await apply(rawTar([{ name: 'f', body: 'x' }]));
    expect(meta(d)).toEqual({ mode: 0o755, uid: isRoot ? 0 : process.getuid!(), gid: isRoot ? 0 : process.getgid!(), mtimeNs: 0n });
  });

  test("with a lower chain: the lower root's owner, mode, times and xattrs", async () => {
    const base = await apply(rawTar([{ name: './', type: '5', mode: 0o750, uid: 1234, gid: 4321, mtime: 1600000000, pax: hasAddon ? { 'SCHILY.xattr.user.root': 'r' } : {} }]));
    const d = await apply(rawTar([{ name: 'f', body: 'x' }]), [base]);
    expect(meta(d)).toEqual(meta(base));
    expect(meta(d).mode).toBe(0o750);
    if (hasAddon) expect(native.lgetxattrSync(d, 'user.root')?.toString()).toBe('r');
  });
});

describe('the chain below given late (layers of one image applied side by side)', () => {
  /** Applies `tar` with the chain asked for late; says whether `d`'s own metadata was already set when it was asked for. */
  async function applyLate(tar: Buffer, lower: string): Promise<{ target: string; finishedFirst: boolean }> {
    const file = path.join(work, `t${++n}.tar`);
    fs.writeFileSync(file, tar);
    const target = path.join(work, `d${n}`);
    fs.mkdirSync(target);
    let finishedFirst = false;
    await applyLayer(file, target, {
      whiteout: 'oci',
      lowerDirs: async () => {
        finishedFirst = meta(path.join(target, 'd')).mtimeNs === 1500000000n * 1_000_000_000n;
        return [lower];
      },
    });
    return { target, finishedFirst };
  }
  const dirD = { name: 'd/', type: '5' as const, mode: 0o701, mtime: 1500000000 };

  test('entries that need nothing of it are finished first (the worker does not wait); the root then takes the chain\'s', async () => {
    const base = await apply(rawTar([{ name: './', type: '5', mode: 0o750, uid: 1234, gid: 4321, mtime: 1600000000, pax: hasAddon ? { 'SCHILY.xattr.user.root': 'r' } : {} }]));
    const { target, finishedFirst } = await applyLate(rawTar([dirD, { name: 'd/f', body: 'x' }]), base);
    expect(finishedFirst).toBe(true);
    expect(meta(target)).toEqual(meta(base));
    expect(meta(path.join(target, 'd'))).toMatchObject({ mode: 0o701, mtimeNs: 1500000000n * 1_000_000_000n });
    if (hasAddon) expect(native.lgetxattrSync(target, 'user.root')?.toString()).toBe('r');
  });

  test('a layer that needs nothing of it, not even for its root, is still done only once the chain is (its parent is published first)', async () => {
    const file = path.join(work, `t${++n}.tar`);
    fs.writeFileSync(file, rawTar([{ name: './', type: '5', mode: 0o755 }, { name: 'f', body: 'x' }]));
    const target = path.join(work, `d${n}`);
    fs.mkdirSync(target);
    let chainReady = false;
    let release!: () => void;
    const chain = new Promise<void>((r) => (release = r));
    const applied = applyLayer(file, target, {
      whiteout: 'oci',
      lowerDirs: async () => {
        await chain;
        chainReady = true;
        return [];
      },
    }).then(() => chainReady);
    await new Promise((r) => setTimeout(r, 300));
    release();
    expect(await applied).toBe(true);
  });

  test('an implicit parent waits for it, and takes the lower copy\'s metadata', async () => {
    const base = await apply(rawTar([{ name: 'p/', type: '5', mode: 0o710, mtime: 1400000000 }]));
    const { target, finishedFirst } = await applyLate(rawTar([dirD, { name: 'd/f', body: 'x' }, { name: 'p/g', body: 'y' }]), base);
    expect(finishedFirst).toBe(false);
    expect(meta(path.join(target, 'p'))).toMatchObject({ mode: 0o710 });
    expect(meta(path.join(target, 'd'))).toMatchObject({ mode: 0o701, mtimeNs: 1500000000n * 1_000_000_000n });
  });
});

const formats: WhiteoutFormatName[] = canMount ? ['oci', 'overlay'] : ['oci'];
describe.each(formats)('in a store (%s whiteouts): the view, a container and a commit agree on the root', (whiteout) => {
  let store: LayerStore;
  let chain: string;
  beforeAll(async () => {
    store = await LayerStore.open(path.join(work, `store-${whiteout}`), { whiteout });
    const a = path.join(work, `base-${whiteout}.tar`);
    const b = path.join(work, `upper-${whiteout}.tar`);
    fs.writeFileSync(a, rawTar([{ name: './', type: '5', mode: 0o711, uid: 1234, gid: 4321, mtime: 1600000000 }, { name: 'etc/', type: '5' }]));
    fs.writeFileSync(b, rawTar([{ name: 'etc/hello', body: 'hi\n' }]));
    const base = await store.importLayer(a);
    chain = (await store.importLayer(b, { parent: base.chainId })).chainId;
  });
  afterAll(async () => {
    for (const c of await store.listContainers()) await c.remove();
  });

  const expected = () => ({ mode: 0o711, uid: isRoot ? 1234 : process.getuid!(), gid: isRoot ? 4321 : process.getgid!(), mtimeNs: 1600000000n * 1_000_000_000n });

  test('each layer directory and the view', () => {
    for (const dir of store.layerDirs(chain)) expect(meta(dir)).toEqual(expected());
    const st = store.view(chain).statSync('/');
    expect([st.mode & 0o7777, st.uid, st.gid, st.mtimeMs]).toEqual([0o711, expected().uid, expected().gid, 1600000000000]);
  });

  const drivers: DriverName[] = canMount && whiteout !== 'oci' ? ['overlay', 'copy'] : ['copy'];
  test.each(drivers)('a %s container, and the layer a commit makes', async (driver) => {
    const c = await store.createContainer(chain, { driver });
    try {
      const root = await c.mount();
      const m = meta(root);
      expect({ mode: m.mode, uid: m.uid, gid: m.gid }).toEqual({ mode: 0o711, uid: expected().uid, gid: expected().gid });
      fs.writeFileSync(path.join(root, 'etc', 'new'), 'n\n');
      const ref = await c.commit();
      expect(meta(store.layerDirs(ref.chainId).at(-1)!)).toEqual(expected());
    } finally {
      await c.remove();
    }
  });
});

(hasTool('umoci') ? describe : describe.skip)('an image made by umoci insert … /', () => {
  test('imports, and its root takes the "/" entry', async () => {
    const dir = path.join(work, 'umoci');
    const layout = path.join(dir, 'img');
    const src = path.join(dir, 'src');
    fs.mkdirSync(path.join(src, 'etc'), { recursive: true });
    fs.writeFileSync(path.join(src, 'etc', 'hello'), 'hi\n');
    fs.chmodSync(src, 0o751);
    fs.utimesSync(src, 1600000000, 1600000000);
    const rootless = isRoot ? [] : ['--rootless'];
    execFileSync('umoci', ['init', '--layout', layout]);
    execFileSync('umoci', ['new', '--image', `${layout}:base`]);
    execFileSync('umoci', ['insert', ...rootless, '--image', `${layout}:base`, '--tag', 'ins', src, '/']);
    const store = await LayerStore.open(path.join(dir, 'store'));
    const img = await store.importImage(`${layout}:ins`, { name: 'ins' });
    const view = store.view(img.chain);
    expect(view.readFileSync('/etc/hello').toString()).toBe('hi\n');
    const st = view.statSync('/');
    expect([st.mode & 0o7777, st.mtimeMs]).toEqual([0o751, 1600000000000]);
  });
});
if (!hasTool('umoci')) console.warn('layer-root: the umoci insert case is skipped: install the umoci package');
