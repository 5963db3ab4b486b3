import * as fs from 'fs';
import * as path from 'path';
import { LayerStore } from '../../lib/layer-store';
import * as native from '../../lib/native';
import type { DriverName } from '../../lib/container/types';
import { makeTempDir } from '../fixtures/tmp';
import { hasAddon, importChain, isRoot, lines, removeWork, writeBaseTars } from '../diff/scripted';
import { listTar } from './tar-listing';

/** A change of the container's root directory itself (chmod, chown, an xattr on `/`) is committed. */
const canOverlay = isRoot && hasAddon;
if (!canOverlay) console.warn('commit of the root: the overlay driver tests are skipped: mounting needs root and the native addon');
const cases: Array<[DriverName, jest.Describe]> = [
  ['overlay', canOverlay ? describe : describe.skip],
  ['copy', describe],
];

const modeOf = (p: string) => fs.lstatSync(p).mode & 0o7777;

describe.each(cases)('commit of a changed root (%s driver)', (driver, describeIf) => {
  describeIf('', () => {
    let work: string;
    let tars: string[];
    let store: LayerStore;
    let chain: string;
    beforeAll(async () => {
      work = makeTempDir(`commit-root-${driver}`);
      tars = await writeBaseTars(work);
      store = await LayerStore.open(path.join(work, 'store'));
      chain = await importChain(store, tars);
    });
    afterEach(async () => {
      for (const c of await store.listContainers()) await c.remove();
    });
    afterAll(() => removeWork(work));

    test('the layer carries `./` first with the root metadata; its directory and the next container have it too', async () => {
      const c = await store.createContainer(chain, { driver });
      const root = await c.mount();
      fs.chmodSync(root, 0o750);
      const what = ['mode'];
      if (isRoot) {
        fs.chownSync(root, 123, 456);
        what.push('owner');
      }
      if (hasAddon) {
        native.lsetxattrSync(root, 'user.root-note', 'yes');
        what.push('xattrs');
      }
      fs.writeFileSync(path.join(root, 'new-file'), 'n\n');
      const changes = await c.diff();
      expect(lines(changes)).toEqual(['C /', 'A /new-file']);
      expect(changes[0].what).toEqual(what);

      const ref = await c.commit({ compression: 'none' });
      const list = await listTar(store.paths.blob(ref.digest));
      expect(list.map((e) => e.name)).toEqual(['./', 'new-file']);
      expect(list[0]).toMatchObject({ type: 'directory', mode: 0o750 });
      if (isRoot) expect(list[0]).toMatchObject({ uid: 123, gid: 456 });
      if (hasAddon) expect(list[0].pax['SCHILY.xattr.user.root-note']).toBe('yes');

      const diffDir = store.paths.layerDiff(ref.chainId);
      expect(modeOf(diffDir)).toBe(0o750);
      if (isRoot) expect(fs.lstatSync(diffDir)).toMatchObject({ uid: 123, gid: 456 });
      if (hasAddon) expect(native.lgetxattrSync(diffDir, 'user.root-note')?.toString()).toBe('yes');
      expect(store.view(ref.chainId).statSync('/').mode & 0o7777).toBe(0o750);

      // the blob imported on the same chain in another store gives the same root
      const other = await LayerStore.open(path.join(work, `other-${driver}`));
      const again = await other.importLayer(store.paths.blob(ref.digest), { parent: await importChain(other, tars) });
      expect(modeOf(other.paths.layerDiff(again.chainId))).toBe(0o750);

      // a container of the new chain starts with that root and no changes
      const next = await store.createContainer(ref.chainId, { driver });
      const nextRoot = await next.mount();
      expect(modeOf(nextRoot)).toBe(0o750);
      if (isRoot) expect(fs.lstatSync(nextRoot)).toMatchObject({ uid: 123, gid: 456 });
      expect(await next.diff()).toEqual([]);

      // a later commit that leaves the root alone keeps it: no `./` entry, the chain's root stays
      fs.writeFileSync(path.join(nextRoot, 'later'), 'l\n');
      const later = await next.commit({ compression: 'none' });
      expect((await listTar(store.paths.blob(later.digest))).map((e) => e.name)).toEqual(['later']);
      expect(modeOf(store.paths.layerDiff(later.chainId))).toBe(0o750);
      expect(store.view(later.chainId).statSync('/').mode & 0o7777).toBe(0o750);
    });

    test('a root left as it was gives no `./` entry', async () => {
      const c = await store.createContainer(chain, { driver });
      const root = await c.mount();
      fs.chmodSync(root, 0o700);
      fs.chmodSync(root, modeOf(store.paths.layerDiff(chain)));
      fs.writeFileSync(path.join(root, 'f'), 'f\n');
      expect(lines(await c.diff())).toEqual(['A /f']);
      const ref = await c.commit({ compression: 'none' });
      expect((await listTar(store.paths.blob(ref.digest))).map((e) => e.name)).toEqual(['f']);
    });
  });
});
