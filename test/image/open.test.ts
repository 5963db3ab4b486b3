import * as path from 'path';
import { openImage, OpenedImage, DOCKER_MANIFEST } from '../../lib/image';
import { describeIf } from '../fixtures/peers';
import { useTempDir } from '../fixtures/tmp';
import { buildForms, Forms, legacyDockerArchive, readAll, sha } from './image-forms';

describeIf(['umoci', 'skopeo', 'tar'])('openImage: every form of an image, read in place', () => {
  const tmp = useTempDir('image-open');
  let f: Forms;
  beforeAll(() => {
    f = buildForms(tmp());
  }, 120000);

  /** Every layer streamed: its bytes hash to the descriptor's digest and count its size. */
  async function checkBlobs(img: OpenedImage): Promise<void> {
    for (const l of img.layers) {
      const b = await readAll(l.open());
      expect(b.length).toBe(l.descriptor.size);
      expect(sha(b)).toBe(l.descriptor.digest);
      if (l.compression === 'none') expect(l.descriptor.digest).toBe(l.diffId);
    }
    await img.close();
  }

  test('each form gives the config diff_ids, layers whose bytes match their descriptors, and its format', async () => {
    const cases: Array<[string, string, string, string]> = [
      ['umoci layout', f.layout, 'oci', 'gzip'],
      ['oci-archive', f.ociArchive, 'oci-archive', 'gzip'],
      ['oci-archive, prefixed', `oci-archive:${f.ociArchive}`, 'oci-archive', 'gzip'],
      ['docker-archive', f.dockerArchive, 'docker-archive', 'none'],
      ['docker-archive by name:tag', `docker-archive:${f.dockerArchive}:name:tag`, 'docker-archive', 'none'],
      ['zstd layout', f.zstdLayout, 'oci', 'zstd'],
      ['uncompressed layout', f.plainLayout, 'oci', 'none'],
    ];
    for (const [what, ref, format, compression] of cases) {
      const img = await openImage(ref);
      expect({ what, format: img.format, diffIds: img.config.rootfs.diff_ids }).toEqual({ what, format, diffIds: f.fx.diffIds });
      expect(img.layers.map((l) => l.diffId)).toEqual(f.fx.diffIds);
      expect(img.layers.map((l) => l.compression)).toEqual([compression, compression]);
      expect(img.path).toBe(path.resolve(ref.replace(/^[a-z-]+:/, '').replace(/:(l2|z|p|name:tag)$/, '')));
      expect(img.configDigest).toBe(img.manifest.config.digest);
      await checkBlobs(img);
    }
  });

  test('the umoci layout: manifest digest from index.json, descriptors as written', async () => {
    const img = await openImage(f.layout);
    expect(img.tag).toBe('l2');
    expect(img.manifestDigest).toBe(sha(require('fs').readFileSync(f.fx.manifestPath)));
    expect(img.layers.map((l) => l.descriptor.digest)).toEqual(f.fx.layers.map((l) => l.digest));
    expect(img.configDigest).toBe(img.manifest.config.digest);
    await img.close();
  });

  test('docker-archive: a Docker v2 manifest is made for it, and the tag is the RepoTag', async () => {
    const img = await openImage(f.dockerArchive);
    expect(img.tag).toBe('docker.io/library/name:tag');
    expect(img.manifest.mediaType).toBe(DOCKER_MANIFEST);
    expect(img.manifestDigest).toBe(sha(JSON.stringify(img.manifest)));
    expect(img.manifest.config.digest).toBe(img.configDigest);
    expect(img.manifest.layers.map((l) => l.digest)).toEqual(f.fx.diffIds);
    await img.close();
  });

  test('a layout of several images is chosen from by tag; without one the error lists the tags', async () => {
    const layout = f.fx.layout;
    expect((await openImage(`${layout}:l1`)).layers).toHaveLength(1);
    expect((await openImage(layout, { tag: 'l1' })).layers).toHaveLength(1);
    expect((await openImage(`${layout}:empty`)).layers).toHaveLength(0);
    const e = await openImage(layout).catch((x) => x);
    expect(e).toMatchObject({ code: 'LAYERFS_BAD_IMAGE' });
    for (const t of ['empty', 'l1', 'l2']) expect(e.message).toContain(t);
    const missing = await openImage(`${layout}:nope`).catch((x) => x);
    expect(missing).toMatchObject({ code: 'LAYERFS_NOT_FOUND' });
    expect(missing.message).toMatch(/"nope".*l1, l2/);
  });

  test('docker-archive: chosen by RepoTag in its short or long form, a bare tag, or @N', async () => {
    for (const t of ['name:tag', 'docker.io/library/name:tag', 'tag', '@0']) expect((await openImage(f.dockerArchive, { tag: t })).layers).toHaveLength(2);
    await expect(openImage(`${f.dockerArchive}:name:nope`)).rejects.toMatchObject({ code: 'LAYERFS_NOT_FOUND', message: expect.stringContaining('docker.io/library/name:tag') });
    await expect(openImage(f.dockerArchive, { tag: '@1' })).rejects.toMatchObject({ code: 'LAYERFS_NOT_FOUND' });
  });

  test('legacy docker save archives: <id>/layer.tar (gzip or a symlink to the plain tar), several images, long names', async () => {
    for (const format of ['gnu', 'pax'] as const) {
      const file = path.join(tmp(), `legacy-${format}.tar`);
      legacyDockerArchive(
        f.fx.layout,
        [
          { tag: 'l2', repoTags: ['old:gz'], longNames: true },
          { tag: 'l1', repoTags: ['old:plain', 'other/old:latest'], gunzip: true },
        ],
        file,
        format,
      );
      const e = await openImage(file).catch((x) => x);
      expect(e).toMatchObject({ code: 'LAYERFS_BAD_IMAGE' });
      expect(e.message).toMatch(/@0 old:gz; @1 old:plain, other\/old:latest/);

      const gz = await openImage(`${file}:old:gz`);
      expect(gz.layers.map((l) => l.compression)).toEqual(['gzip', 'gzip']);
      // nothing in the archive names a compressed layer.tar's digest: it was hashed, and is the umoci blob's
      expect(gz.layers.map((l) => l.descriptor.digest)).toEqual(f.fx.layers.map((l) => l.digest));
      expect(gz.layers.map((l) => l.diffId)).toEqual(f.fx.diffIds);
      await checkBlobs(gz);

      const plain = await openImage(file, { tag: 'other/old' });
      expect(plain.tag).toBe('other/old:latest');
      expect(plain.layers.map((l) => [l.compression, l.descriptor.digest])).toEqual([['none', f.fx.diffIds[0]]]);
      await checkBlobs(plain);
    }
  });

  test('not an image: clear errors', async () => {
    await expect(openImage(path.join(tmp(), 'nothing-here'))).rejects.toMatchObject({ code: 'LAYERFS_NOT_FOUND' });
    await expect(openImage(tmp())).rejects.toMatchObject({ code: 'LAYERFS_BAD_IMAGE', message: expect.stringContaining('no oci-layout') });
    await expect(openImage(`oci:${f.ociArchive}`)).rejects.toMatchObject({ code: 'LAYERFS_BAD_IMAGE', message: expect.stringContaining('is an oci-archive, not an OCI layout directory') });
    await expect(openImage(`docker-archive:${f.ociArchive}`)).rejects.toMatchObject({ code: 'LAYERFS_BAD_IMAGE' });
    await expect(openImage(`oci-archive:${f.fx.layout}`)).rejects.toMatchObject({ code: 'LAYERFS_BAD_IMAGE', message: expect.stringContaining('is a directory') });
    await expect(openImage(f.fx.layers[0].blobPath)).rejects.toMatchObject({ code: 'LAYERFS_BAD_IMAGE', message: expect.stringContaining('gzip-compressed') });
  });

  test('after close, layers are not opened', async () => {
    for (const ref of [f.layout, f.ociArchive]) {
      const img = await openImage(ref);
      await img.close();
      expect(() => img.layers[0].open()).toThrow(/was closed/);
    }
  });
});
