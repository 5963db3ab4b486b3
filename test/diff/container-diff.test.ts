import * as fs from 'fs';
import * as path from 'path';
import { LayerStore } from '../../lib/layer-store';
import { snapshotChangesAsync, overlayChangesAsync, type Change } from '../../lib/diff';
import type { DriverName } from '../../lib/container/types';
import { makeTempDir } from '../fixtures/tmp';
import { applyScript, hasAddon, importChain, isRoot, lines, makeNoOpChanges, removeWork, writeBaseTars } from './scripted';

const canOverlay = isRoot && hasAddon;
if (!canOverlay) console.warn('container diff: the overlay driver tests are skipped: mounting needs root and the native addon');
const cases: Array<[DriverName, jest.Describe]> = [
  ['overlay', canOverlay ? describe : describe.skip],
  ['copy', describe],
];

const byPath = (changes: Change[]) => new Map(changes.map((c) => [c.path, c]));

describe.each(cases)('the diff of a container (%s driver)', (driver, describeIf) => {
  describeIf('', () => {
    let work: string;
    let store: LayerStore;
    let chain: string;
    beforeAll(async () => {
      work = makeTempDir('diff');
      store = await LayerStore.open(path.join(work, 'store'));
      chain = await importChain(store, await writeBaseTars(work));
    });
    afterEach(async () => {
      for (const c of await store.listContainers()) await c.remove();
    });
    afterAll(() => removeWork(work));

    test('is empty with no changes, and with files copied up and left as they were', async () => {
      const c = await store.createContainer(chain, { driver });
      const root = await c.mount();
      expect(await c.diff()).toEqual([]);
      makeNoOpChanges(root);
      if (driver === 'overlay') expect(fs.readdirSync(store.paths.containerUpper(c.id))).toEqual(expect.arrayContaining(['moved', 'untouched', 'reverted']));
      expect(await c.diff()).toEqual([]);
    });

    test('lists exactly the scripted changes, sorted by path, saying what changed', async () => {
      const c = await store.createContainer(chain, { driver });
      const root = await c.mount();
      const expected = applyScript(root);
      const changes = await c.diff();
      expect(lines(changes)).toEqual(expected);
      const paths = changes.map((x) => x.path);
      expect(paths).toEqual([...paths].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))));

      const by = byPath(changes);
      const what = (p: string) => by.get(p)?.what;
      expect(by.get('/etc/motd')).toMatchObject({ kind: 'C', type: 'file', size: 'welcome\nappended\n'.length, what: ['content'] });
      expect(what('/recreate/kept-name')).toEqual(['content']);
      expect(what('/chmod-me')).toEqual(['mode']);
      expect(by.get('/chmod-me')!.mode).toBe(0o600);
      if (isRoot) expect(by.get('/chown-me')).toMatchObject({ what: ['owner'], uid: 1000, gid: 1000 });
      if (hasAddon) expect(what('/xattr-me')).toEqual(['xattrs']);
      expect(by.get('/link')).toMatchObject({ type: 'symlink', target: 'etc/motd', what: ['target', 'mtime'] });
      expect(what('/to-dir')).toEqual(['type']);
      expect(by.get('/to-dir')!.type).toBe('dir');
      expect(by.get('/from-dir')).toMatchObject({ type: 'file', what: ['type'] });
      // the file of the chain that a new name was linked to: the layer needs both names
      expect(what('/etc/hosts')).toEqual(['link']);
      // removed and made again: opaque, at every level the chain had
      expect(by.get('/recreate')).toMatchObject({ type: 'dir', opaque: true, what: ['recreated'] });
      expect(by.get('/recreate/sub')).toMatchObject({ opaque: true, what: ['recreated'] });
      expect(changes.filter((x) => x.opaque).map((x) => x.path)).toEqual(['/recreate', '/recreate/sub']);
      // deletions carry what was deleted; everything else says where to read it
      expect(by.get('/etc/gone')).toMatchObject({ type: 'file', size: 'delete me\n'.length, mode: 0o644 });
      expect(by.get('/var/log')).toMatchObject({ type: 'dir' });
      for (const x of changes) {
        if (x.kind === 'D') expect(x.source).toBeUndefined();
        else expect(fs.existsSync(x.source!)).toBe(true);
      }
    });

    test('the worker forms give the same changes', async () => {
      const c = await store.createContainer(chain, { driver });
      const root = await c.mount();
      applyScript(root);
      // enough new files that the overlay walk moves to the worker
      fs.mkdirSync(path.join(root, 'many'));
      for (let i = 0; i < 2100; i++) fs.writeFileSync(path.join(root, 'many', `f${i}`), String(i));
      const sync = await c.diff();
      expect(sync.length).toBeGreaterThan(2100);
      const viaWorker =
        driver === 'overlay'
          ? await overlayChangesAsync(store.paths.containerUpper(c.id), store.view(chain), store.whiteout)
          : await snapshotChangesAsync(store.paths.containerRoot(c.id), store.paths.containerSnapshot(c.id), store.view(chain));
      expect(viaWorker).toEqual(sync);
    });

    test('a container on no layers reports everything as added', async () => {
      const c = await store.createContainer(null, { driver });
      const root = await c.mount();
      fs.mkdirSync(path.join(root, 'd'));
      fs.writeFileSync(path.join(root, 'd/f'), 'f');
      expect(lines(await c.diff())).toEqual(['A /d', 'A /d/f']);
    });
  });
});
