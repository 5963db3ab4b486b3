/**
 * The applier keeps the content digest of every file it writes, by inode, so that the layer's
 * manifest needs no second read. ext4 and tmpfs hand a freed inode number out again at once: a
 * file of the layer replaced by a later entry, then an oci whiteout marker (written without the
 * digest) got the old file's number and its digest, and fsck flagged the healthy layer.
 */
import * as fs from 'fs';
import * as path from 'path';
import { createHash } from 'crypto';
import { LayerStore } from '../../lib/layer-store';
import { readContentIndexSync } from '../../lib/store/content-index';
import { rawTar, RawEntry } from '../fixtures/hostile-tar';
import { cleanup, tempDir } from '../drivers/helpers';

let work: string;
beforeEach(() => (work = tempDir('inode-reuse')));
afterEach(() => cleanup(work));

const EMPTY = createHash('sha256').digest('hex');

/** Whether this filesystem gives a freed inode number to the next file (else the cases below cannot go stale here). */
function reusesInodes(dir: string): boolean {
  const a = path.join(dir, 'probe-a');
  fs.writeFileSync(a, 'x');
  const ino = fs.statSync(a).ino;
  fs.unlinkSync(a);
  fs.writeFileSync(a, '');
  const again = fs.statSync(a).ino === ino;
  fs.unlinkSync(a);
  return again;
}

const cases: Record<string, RawEntry[]> = {
  // `x` is unlinked (a hardlink takes its name, and allocates no inode): the marker gets its number
  'a file replaced by a hardlink, then a whiteout': [{ name: 'y', body: 'other' }, { name: 'x', body: 'hello' }, { name: 'x', type: '1', linkname: 'y' }, { name: '.wh.gone' }],
  // a directory of files replaced by a hardlink, then markers
  'a directory replaced by a hardlink, then whiteouts': [
    { name: 'y', body: 'other' },
    { name: 'd/', type: '5' },
    { name: 'd/a', body: 'aaaa' },
    { name: 'd/b', body: 'bbbb' },
    { name: 'd', type: '1', linkname: 'y' },
    { name: '.wh.g1' },
    { name: '.wh.g2' },
    { name: 'e/', type: '5' },
    { name: 'e/.wh..wh..opq' },
  ],
};

describe('a reused inode number', () => {
  for (const [name, entries] of Object.entries(cases)) {
    test(`${name}: the manifest holds what is on disk and fsck finds nothing`, async () => {
      if (!reusesInodes(work)) console.warn(`this filesystem does not reuse inode numbers at once: "${name}" cannot go stale here`);
      const store = await LayerStore.open(path.join(work, 'store'), { whiteout: 'oci' });
      fs.writeFileSync(path.join(work, 'layer.tar'), rawTar(entries));
      const l = await store.importLayer(path.join(work, 'layer.tar'));
      const markers = readContentIndexSync(store.paths.contentIndex(l.chainId)).filter((m) => path.basename(m[0]).startsWith('.wh.'));
      expect(markers.length).toBeGreaterThan(0);
      for (const m of markers) expect([m[0], m[4]]).toEqual([m[0], EMPTY]);
      expect((await store.fsck()).problems).toEqual([]);
    });
  }
});
