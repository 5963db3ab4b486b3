import * as fs from 'fs';
import * as path from 'path';
import { LayerStore } from '../../lib/layer-store';
import { makeTempDir } from '../fixtures/tmp';
import { hasAddon, importChain, isRoot, removeWork, writeBaseTars } from './scripted';

/**
 * The overlay driver mounts with index=off: a copy-up (a chmod, chown or setxattr, even to the
 * value the file has) gives that name an inode of its own, out of the lower file's hardlink
 * group. The diff must say so (C, what: link), or the commit leaves it out and the committed
 * tree has the names one file again. Found by the property suite (seed 3).
 */
const canOverlay = isRoot && hasAddon;
if (!canOverlay) console.warn('overlay hardlink copy-up: skipped: mounting needs root and the native addon');
const describeIf = canOverlay ? describe : describe.skip;

describeIf('a copy-up of one name of a hardlinked lower file', () => {
  let work: string;
  let store: LayerStore;
  let chain: string;
  beforeAll(async () => {
    work = makeTempDir('overlay-link-copyup');
    store = await LayerStore.open(path.join(work, 'store'));
    chain = await importChain(store, await writeBaseTars(work)); // bin/sh and bin/ash: one file
  });
  afterAll(() => removeWork(work));

  test('is a change of that name, and the commit keeps the names apart, as the container has them', async () => {
    const c = await store.createContainer(chain, { driver: 'overlay' });
    const root = await c.mount();
    const sh = path.join(root, 'bin/sh');
    expect(fs.statSync(sh).ino).toBe(fs.statSync(path.join(root, 'bin/ash')).ino);
    fs.chmodSync(sh, fs.statSync(sh).mode & 0o7777); // the mode it has: only the copy-up
    expect(fs.statSync(sh).ino).not.toBe(fs.statSync(path.join(root, 'bin/ash')).ino);
    const changes = await c.diff();
    expect(changes.filter((x) => x.path.startsWith('/bin/'))).toEqual([expect.objectContaining({ kind: 'C', path: '/bin/sh', what: ['link'], type: 'file' })]);
    const ref = await c.commit({ compression: 'none' });
    await c.remove();
    const view = store.view(ref.chainId);
    const [a, b] = ['/bin/sh', '/bin/ash'].map((p) => view.lookupSync(p)!);
    expect(a.realPath.startsWith(store.paths.layerDiff(ref.chainId))).toBe(true);
    expect(fs.lstatSync(a.realPath).ino).not.toBe(fs.lstatSync(b.realPath).ino);
    expect(view.readFileSync('/bin/sh').equals(view.readFileSync('/bin/ash'))).toBe(true);
  });
});
