import * as path from 'path';
import { hostPlatform, openImage, OCI_INDEX } from '../../lib/image';
import { MAX_DESCRIPTORS, MAX_NESTING } from '../../lib/image/select';
import { useTempDir } from '../fixtures/tmp';
import { emptyImage, HandLayout } from './image-forms';

const REF = 'org.opencontainers.image.ref.name';

/**
 * Index walks are bounded (issue 19, "an index bomb exhausts memory"): a 108 KB layout of four
 * levels of indexes, each listing the one below 16 times, took 56 s and 4.6 GB and then died at
 * the heap limit; deeper ones overflowed the stack.
 */
describe('selectManifest: a bounded walk of the indexes', () => {
  const tmp = useTempDir('image-select');

  const image = (l: HandLayout) => emptyImage(l, { architecture: hostPlatform().architecture });
  const index = (l: HandLayout, manifests: unknown[], annotations?: Record<string, string>) => l.putJson({ schemaVersion: 2, mediaType: OCI_INDEX, manifests, ...(annotations ? { annotations } : {}) }, OCI_INDEX);

  test('four levels of indexes each listing the one below 16 times: each blob is visited once, and the one image is found at once', async () => {
    const l = new HandLayout(path.join(tmp(), 'bomb'));
    const m = image(l);
    let below: unknown = m;
    for (let level = 0; level < 4; level++) below = index(l, Array(16).fill(below));
    l.setIndex(Array(16).fill({ ...(below as object), annotations: { [REF]: 'latest' } }));
    // 16^5 (about a million) manifests before; now 16 * 5 descriptors read
    const img = await openImage(l.dir);
    expect(img.manifestDigest).toBe(m.digest);
    expect(img.tag).toBe('latest');
    await img.close();
  });

  test('a chain of indexes deeper than the limit: LAYERFS_LIMIT naming the nesting limit, not a stack overflow', async () => {
    const l = new HandLayout(path.join(tmp(), 'deep'));
    let below: unknown = image(l);
    for (let level = 0; level < 2000; level++) below = index(l, [below]);
    l.setIndex([below]);
    const e = await openImage(l.dir).catch((x) => x);
    expect(e).toMatchObject({ code: 'LAYERFS_LIMIT' });
    expect(e.message).toContain(`nest more than ${MAX_NESTING} deep`);
    expect(e.message).toContain('limit on nesting');
    // at the limit it opens
    const ok = new HandLayout(path.join(tmp(), 'deep-ok'));
    let b: unknown = image(ok);
    for (let level = 0; level < MAX_NESTING; level++) b = index(ok, [b]);
    ok.setIndex([b]);
    await (await openImage(ok.dir)).close();
  });

  test('indexes that list more descriptors in all than the limit: LAYERFS_LIMIT naming the limit on descriptors', async () => {
    const l = new HandLayout(path.join(tmp(), 'wide'));
    const m = image(l);
    const per = Math.ceil(MAX_DESCRIPTORS / 4);
    // distinct indexes (an annotation apart), each listing the one image many times
    const inner = [0, 1, 2, 3, 4].map((i) => index(l, Array(per).fill(m), { n: String(i) }));
    l.setIndex(inner);
    const e = await openImage(l.dir).catch((x) => x);
    expect(e).toMatchObject({ code: 'LAYERFS_LIMIT' });
    expect(e.message).toContain(`more than ${MAX_DESCRIPTORS} descriptors`);
    expect(e.message).toContain('limit on descriptors walked');
  });
});
