import * as fs from 'fs';
import * as path from 'path';
import { execFileSync } from 'child_process';
import { LayerStore } from '../../lib/layer-store';
import * as native from '../../lib/native';
import type { DriverName } from '../../lib/container/types';
import { makeTempDir } from '../fixtures/tmp';
import { hasAddon, isRoot, lines, removeWork } from '../diff/scripted';
import { listTar, tarFileBytes } from './tar-listing';

/**
 * Rewrites that keep a file's size and mtime (`cp -p`, `install -p`, `rsync -a`, `tar -x`, a
 * rename over it), on a layer built with every mtime 0 as SOURCE_DATE_EPOCH builds are: the
 * metadata is as it was, the bytes are not. diff must list them and commit must carry them.
 */
const canOverlay = isRoot && hasAddon;
if (!canOverlay) console.warn('same-size rewrites: the overlay driver tests are skipped: mounting needs root and the native addon');
const cases: Array<[DriverName, jest.Describe]> = [
  ['overlay', canOverlay ? describe : describe.skip],
  ['copy', describe],
];

/** The new bytes of each rewritten file: each as long as the old. */
const NEW = { 'app/a.txt': 'ALPHA-2\n', 'app/b.txt': 'BRAVO-2\n', 'app/c.txt': 'CHARLIE-2\n' };

describe.each(cases)('a rewrite that keeps size and mtime (%s driver)', (driver, describeIf) => {
  describeIf('', () => {
    let work: string;
    let store: LayerStore;
    let chain: string;
    beforeAll(async () => {
      work = makeTempDir(`same-size-${driver}`);
      const src = path.join(work, 'src');
      fs.mkdirSync(src);
      fs.writeFileSync(path.join(src, 'a.txt'), 'alpha-1\n');
      fs.writeFileSync(path.join(src, 'b.txt'), 'bravo-1\n');
      fs.writeFileSync(path.join(src, 'c.txt'), 'charlie-1\n');
      fs.writeFileSync(path.join(src, 'x.txt'), 'xattr\n');
      fs.writeFileSync(path.join(src, 'same.txt'), 'same\n');
      fs.symlinkSync('a.txt', path.join(src, 'lnk'));
      store = await LayerStore.open(path.join(work, 'store'));
      chain = (await store.buildLayer({ from: src, prefix: '/app', mtime: 'epoch' })).chainId;
    });
    afterEach(async () => {
      for (const c of await store.listContainers()) await c.remove();
    });
    afterAll(() => removeWork(work));

    test('diff lists each one, and commit carries the new bytes', async () => {
      const c = await store.createContainer(chain, { driver });
      const root = await c.mount();
      const p = (rel: string) => path.join(root, rel);
      expect(fs.lstatSync(p('app/a.txt')).mtimeMs).toBe(0);
      // cp -p of a file of the same size and mtime over the container's
      const host = path.join(work, `host-a-${driver}`);
      fs.writeFileSync(host, NEW['app/a.txt']);
      fs.utimesSync(host, 0, 0);
      execFileSync('cp', ['-p', host, p('app/a.txt')]);
      // written in place, its mtime put back (what tar -x and rsync -a leave)
      fs.writeFileSync(p('app/b.txt'), NEW['app/b.txt']);
      fs.utimesSync(p('app/b.txt'), 0, 0);
      // a new file renamed over the old one (install, rsync, editors)
      fs.writeFileSync(p('app/.c.txt.tmp'), NEW['app/c.txt']);
      fs.utimesSync(p('app/.c.txt.tmp'), 0, 0);
      fs.renameSync(p('app/.c.txt.tmp'), p('app/c.txt'));
      // the same bytes written again: no change
      fs.writeFileSync(p('app/same.txt'), 'same\n');
      fs.utimesSync(p('app/same.txt'), 0, 0);
      // a symlink made again with a target of the same length and the old mtime
      fs.unlinkSync(p('app/lnk'));
      fs.symlinkSync('b.txt', p('app/lnk'));
      fs.lutimesSync(p('app/lnk'), 0, 0);
      const expected = ['C /app/a.txt', 'C /app/b.txt', 'C /app/c.txt', 'C /app/lnk'];
      // an xattr set, nothing else
      if (hasAddon) {
        native.lsetxattrSync(p('app/x.txt'), 'user.note', 'set');
        expected.push('C /app/x.txt');
      }

      const changes = await c.diff();
      expect(lines(changes)).toEqual(expected);
      expect(changes.find((x) => x.path === '/app/lnk')).toMatchObject({ what: ['target'], target: 'b.txt' });

      const ref = await c.commit({ compression: 'none' });
      const blob = store.paths.blob(ref.digest);
      for (const [rel, bytes] of Object.entries(NEW)) expect([rel, (await tarFileBytes(blob, rel))?.toString()]).toEqual([rel, bytes]);
      const listed = new Map((await listTar(blob)).map((e) => [e.name, e]));
      expect(listed.get('app/lnk')).toMatchObject({ type: 'symlink', linkname: 'b.txt' });
      expect(listed.has('app/same.txt')).toBe(false);
      if (hasAddon) expect(listed.get('app/x.txt')!.pax['SCHILY.xattr.user.note']).toBe('set');
      // the new chain reads the new bytes, and a container on it starts with no changes
      const view = store.view(ref.chainId);
      for (const [rel, bytes] of Object.entries(NEW)) expect(view.readFileSync('/' + rel).toString()).toBe(bytes);
      const next = await store.createContainer(ref.chainId, { driver });
      await next.mount();
      expect(await next.diff()).toEqual([]);
    });
  });
});
