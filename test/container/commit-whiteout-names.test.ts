import * as fs from 'fs';
import * as path from 'path';
import { LayerStore } from '../../lib/layer-store';
import type { DriverName } from '../../lib/container/types';
import type { WhiteoutFormatName } from '../../lib/store/types';
import { makeTempDir } from '../fixtures/tmp';
import { hasAddon, importChain, isRoot, removeWork, writeBaseTars } from '../diff/scripted';

/**
 * A container file named `.wh.*` would be a whiteout (or an opaque marker) to every other tool
 * that reads the layer: one ChainID would mean two trees. Commit refuses it, naming the path, and
 * leaves the store as it was.
 */
const canOverlay = isRoot && hasAddon;
if (!canOverlay) console.warn('commit of .wh. names: the overlay driver tests are skipped: mounting needs root and the native addon');
// both whiteout formats (the overlay driver needs an overlay-format store): in an oci store the layer directory's opaque marker is a file, which a container file of that name collides with
const cases: Array<[DriverName, WhiteoutFormatName | undefined, jest.Describe]> = [
  ['overlay', undefined, canOverlay ? describe : describe.skip],
  ['copy', undefined, describe],
  ['copy', 'oci', describe],
];

const listing = (dir: string) => (fs.existsSync(dir) ? fs.readdirSync(dir).sort() : []);

describe.each(cases)('commit of a container holding a .wh. name (%s driver, %s store)', (driver, whiteout, describeIf) => {
  describeIf('', () => {
    let work: string;
    let store: LayerStore;
    let chain: string;
    const state = () => ({ blobs: listing(store.paths.blobsDir), layers: listing(store.paths.layersDir), tmp: listing(store.paths.tmpDir) });
    beforeAll(async () => {
      work = makeTempDir(`commit-wh-${driver}`);
      store = await LayerStore.open(path.join(work, 'store'), whiteout ? { whiteout } : {});
      chain = await importChain(store, await writeBaseTars(work));
    });
    afterEach(async () => {
      for (const c of await store.listContainers()) await c.remove();
    });
    afterAll(() => removeWork(work));

    const made: Array<[string, (root: string) => void, string]> = [
      ['a file .wh.NAME next to a lower file', (r) => fs.writeFileSync(path.join(r, 'etc/.wh.hosts'), ''), 'etc/.wh.hosts'],
      ['an opaque marker as a file', (r) => fs.writeFileSync(path.join(r, 'etc/.wh..wh..opq'), ''), 'etc/.wh..wh..opq'],
      ['a directory .wh.NAME with a file in it', (r) => {
        fs.mkdirSync(path.join(r, '.wh.bin'));
        fs.writeFileSync(path.join(r, '.wh.bin/f'), 'f');
      }, '.wh.bin'],
      // property suite, copy driver, seed 757961470: the re-created directory's opaque marker and the
      // container's own file of that name met in the layer directory (EEXIST) before the pack refused it
      ['an opaque marker, hardlinked, in a directory made again', (r) => {
        fs.rmSync(path.join(r, 'etc'), { recursive: true });
        fs.mkdirSync(path.join(r, 'etc'));
        fs.writeFileSync(path.join(r, 'etc/a'), 'a');
        fs.linkSync(path.join(r, 'etc/a'), path.join(r, 'etc/.wh..wh..opq'));
      }, 'etc/.wh..wh..opq'],
      ['a file .wh.NAME in a directory made again', (r) => {
        fs.rmSync(path.join(r, 'etc'), { recursive: true });
        fs.mkdirSync(path.join(r, 'etc'));
        fs.writeFileSync(path.join(r, 'etc/.wh.hosts'), '');
      }, 'etc/.wh.hosts'],
      ['a symlink named .wh.NAME', (r) => fs.symlinkSync('etc/motd', path.join(r, '.wh.untouched')), '.wh.untouched'],
    ];

    test.each(made)('%s: refused, naming the path; the store is as it was', async (_what, make, shown) => {
      const c = await store.createContainer(chain, { driver });
      const root = await c.mount();
      fs.writeFileSync(path.join(root, 'ordinary'), 'o\n');
      make(root);
      // the diff says what is there
      expect((await c.diff()).map((x) => x.path)).toContain('/' + shown);
      const before = state();
      await expect(c.commit({ compression: 'gzip' })).rejects.toMatchObject({ code: 'LAYERFS_UNSAFE_PATH', message: expect.stringContaining(JSON.stringify(shown)) });
      expect(state()).toEqual(before);
      // with the name gone the same container commits
      fs.rmSync(path.join(root, shown), { recursive: true });
      const ref = await c.commit({ compression: 'none' });
      expect(store.view(ref.chainId).readFileSync('/ordinary').toString()).toBe('o\n');
    });
  });
});
