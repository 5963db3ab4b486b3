import * as fs from 'fs';
import * as path from 'path';
import { LayerStore } from '../../lib/layer-store';
import { openImage, OCI_INDEX, OCI_MANIFEST } from '../../lib/image';
import { useTempDir } from '../fixtures/tmp';
import { emptyImage, HandLayout } from './image-forms';

const REF = 'org.opencontainers.image.ref.name';

/**
 * Annotations map strings to strings (image-spec annotations.md). Issue 19: a numeric
 * `ref.name` was accepted, became the record's name, and then broke `image ls`.
 */
describe('annotations that are not strings are refused, naming the descriptor and the key', () => {
  const tmp = useTempDir('image-annotations');

  test('a numeric ref.name in index.json: refused by openImage and by the store, which keeps no record', async () => {
    const l = new HandLayout(path.join(tmp(), 'numeric'));
    const m = emptyImage(l);
    l.setIndex([{ ...m, annotations: { [REF]: 123 } }]);
    const e = await openImage(l.dir).catch((x) => x);
    expect(e).toMatchObject({ code: 'LAYERFS_BAD_IMAGE' });
    expect(e.message).toContain('index.json manifests[0]');
    expect(e.message).toContain(m.digest);
    expect(e.message).toContain(`the annotation "${REF}" is 123, not a string`);
    const store = await LayerStore.open(path.join(tmp(), 'store'));
    await expect(store.importImage(l.dir)).rejects.toMatchObject({ code: 'LAYERFS_BAD_IMAGE' });
    expect(await store.listImages()).toEqual([]);
    expect(fs.readdirSync(store.paths.imagesDir)).toEqual([]);
  });

  test('in a manifest, a nested index, a layer descriptor; annotations that are not a map', async () => {
    const cases: Array<[string, (l: HandLayout) => unknown, RegExp]> = [
      ['manifest', (l) => l.putJson({ ...l.readJson(emptyImage(l).digest), annotations: { 'org.example.n': 1 } }, OCI_MANIFEST), /manifest sha256:[0-9a-f]{64}: the annotation "org.example.n" is 1/],
      ['nested index', (l) => l.putJson({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [emptyImage(l)], annotations: { k: true } }, OCI_INDEX), /image index \(sha256:[0-9a-f]{64}\): the annotation "k" is true/],
      ['entry of a nested index', (l) => l.putJson({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [{ ...emptyImage(l), annotations: { k: null } }] }, OCI_INDEX), /manifests\[0\] \(sha256:[0-9a-f]{64}\): the annotation "k" is null/],
      [
        'layer',
        (l) => {
          const m = l.readJson(emptyImage(l).digest);
          m.layers[0].annotations = { 'org.example.size': 12 };
          return l.putJson(m, OCI_MANIFEST);
        },
        /layer 0 \(sha256:[0-9a-f]{64}\): the annotation "org.example.size" is 12/,
      ],
      ['a list', (l) => ({ ...emptyImage(l), annotations: ['x'] }), /annotations is not a map of strings to strings/],
    ];
    for (const [what, make, msg] of cases) {
      const l = new HandLayout(path.join(tmp(), what.replace(/ /g, '-')));
      l.setIndex([make(l)]);
      const e = await openImage(l.dir).catch((x) => x);
      expect({ what, code: e.code }).toEqual({ what, code: 'LAYERFS_BAD_IMAGE' });
      expect(e.message).toMatch(msg);
    }
  });
});
