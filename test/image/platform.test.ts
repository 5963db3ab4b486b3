import * as path from 'path';
import { openImage, hostPlatform, DOCKER_LIST, DOCKER_MANIFEST, OCI_INDEX, OCI_MANIFEST } from '../../lib/image';
import { describeIf } from '../fixtures/peers';
import { useTempDir } from '../fixtures/tmp';
import { HandLayout, platformImage, readAll, sha } from './image-forms';

const REF = 'org.opencontainers.image.ref.name';

/**
 * Multi-platform indexes written by hand (no peer writes several platforms without a registry):
 * one image per platform, each with a one-file layer naming its platform.
 */
describeIf(['tar'])('openImage: choosing by platform', () => {
  const tmp = useTempDir('image-platform');
  const host = hostPlatform();
  const other = host.architecture === 'arm64' ? 'amd64' : 'arm64';

  const image = platformImage;

  async function platformOf(ref: string, opts: Parameters<typeof openImage>[1] = {}): Promise<string> {
    const img = await openImage(ref, opts);
    const b = await readAll(img.layers[0].open());
    expect(sha(b)).toBe(img.layers[0].descriptor.digest);
    await img.close();
    return `${img.config.os}/${img.config.architecture}${img.config.variant ? '/' + img.config.variant : ''}`;
  }

  test('index.json listing platforms: this machine by default, else the one asked for', async () => {
    const l = new HandLayout(path.join(tmp(), 'flat'));
    l.setIndex([image(l, { os: 'linux', architecture: other }), image(l, { os: 'linux', architecture: host.architecture }), image(l, { os: 'windows', architecture: host.architecture })]);
    expect(await platformOf(l.dir)).toBe(`linux/${host.architecture}`);
    expect(await platformOf(l.dir, { platform: { os: 'linux', architecture: other } })).toBe(`linux/${other}`);
    expect(await platformOf(l.dir, { platform: { architecture: other } })).toBe(`linux/${other}`);
    expect(await platformOf(l.dir, { platform: { os: 'windows' } })).toBe(`windows/${host.architecture}`);
    const e = await openImage(l.dir, { platform: { os: 'linux', architecture: 's390x' } }).catch((x) => x);
    expect(e).toMatchObject({ code: 'LAYERFS_NOT_FOUND' });
    expect(e.message).toContain('linux/s390x');
    expect(e.message).toContain(`linux/${other}`);
    expect(e.message).toContain(`windows/${host.architecture}`);
  });

  test('a tag naming a nested image index, variants, and attestation manifests beside the images', async () => {
    const l = new HandLayout(path.join(tmp(), 'nested'));
    const attestation = l.putJson({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: l.putJson({}, 'application/vnd.in-toto+json'), layers: [] }, OCI_MANIFEST, { platform: { os: 'unknown', architecture: 'unknown' } });
    const inner = l.putJson(
      {
        schemaVersion: 2,
        mediaType: OCI_INDEX,
        manifests: [image(l, { os: 'linux', architecture: 'arm', variant: 'v6' }), image(l, { os: 'linux', architecture: 'arm', variant: 'v7' }), image(l, { os: 'linux', architecture: 'arm64', variant: 'v8' }), image(l, { os: 'linux', architecture: 'amd64' }), attestation],
      },
      OCI_INDEX,
      { annotations: { [REF]: 'multi' } },
    );
    const single = image(l, { os: 'linux', architecture: 'riscv64' });
    l.setIndex([inner, { ...single, annotations: { [REF]: 'single' } }]);
    expect(await platformOf(`${l.dir}:multi`, { platform: { os: 'linux', architecture: 'arm', variant: 'v7' } })).toBe('linux/arm/v7');
    // arm64 means arm64/v8
    expect(await platformOf(`${l.dir}:multi`, { platform: { os: 'linux', architecture: 'arm64' } })).toBe('linux/arm64/v8');
    expect(await platformOf(`${l.dir}:multi`, { platform: { os: 'linux', architecture: 'aarch64' } })).toBe('linux/arm64/v8');
    // arm is arm/v7 (containerd's normalization); arm/v8 takes the newest older variant there is
    expect(await platformOf(`${l.dir}:multi`, { platform: { os: 'linux', architecture: 'arm' } })).toBe('linux/arm/v7');
    expect(await platformOf(`${l.dir}:multi`, { platform: { os: 'linux', architecture: 'arm', variant: 'v8' } })).toBe('linux/arm/v7');
    expect(await platformOf(`${l.dir}:multi`, { platform: { os: 'linux', architecture: 'arm', variant: 'v6' } })).toBe('linux/arm/v6');
    const v5 = await openImage(`${l.dir}:multi`, { platform: { os: 'linux', architecture: 'arm', variant: 'v5' } }).catch((x) => x);
    expect(v5).toMatchObject({ code: 'LAYERFS_NOT_FOUND' });
    expect(v5.message).toMatch(/linux\/arm\/v5.*linux\/arm\/v6.*linux\/arm\/v7/);
    // one image under a tag: taken for the platform it is for, and for no other
    expect(await platformOf(`${l.dir}:single`, { platform: { architecture: 'riscv64' } })).toBe('linux/riscv64');
    await expect(openImage(`${l.dir}:single`, { platform: { architecture: 'amd64' } })).rejects.toMatchObject({ code: 'LAYERFS_NOT_FOUND' });
    // no tag: the images of both tags are the choices
    const e = await openImage(l.dir, { platform: { os: 'linux', architecture: 'ppc64le' } }).catch((x) => x);
    expect(e.message).toMatch(/multi \[linux\/arm\/v6\].*single \[linux\/riscv64\]/);
  });

  test('an index whose only image is for another architecture is refused, flattened or nested, naming what it holds', async () => {
    for (const nested of [false, true]) {
      const l = new HandLayout(path.join(tmp(), nested ? 'only-nested' : 'only-flat'));
      const m = image(l, { os: 'linux', architecture: other });
      l.setIndex([nested ? l.putJson({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [m] }, OCI_INDEX) : m]);
      // skopeo: "no image found in image index for architecture amd64"
      const e = await openImage(l.dir).catch((x) => x);
      expect(e).toMatchObject({ code: 'LAYERFS_NOT_FOUND' });
      expect(e.message).toContain(`no image for the platform linux/${host.architecture}`);
      expect(e.message).toContain(`[linux/${other}] ${m.digest}`);
      expect(await platformOf(l.dir, { platform: { architecture: other } })).toBe(`linux/${other}`);
    }
  });

  test('an image whose descriptor names no platform: taken alone, but a platform asked for is held against its config', async () => {
    const l = new HandLayout(path.join(tmp(), 'no-desc-platform'));
    const m = image(l, { os: 'linux', architecture: other });
    l.setIndex([{ ...m, platform: undefined }]);
    expect(await platformOf(l.dir)).toBe(`linux/${other}`);
    expect(await platformOf(l.dir, { platform: { architecture: other } })).toBe(`linux/${other}`);
    const e = await openImage(l.dir, { platform: { os: 'linux', architecture: host.architecture } }).catch((x) => x);
    expect(e).toMatchObject({ code: 'LAYERFS_NOT_FOUND' });
    expect(e.message).toContain(`is for linux/${other}`);
  });

  test('two images for the one best platform are a choice to make; the exact variant beats an older one', async () => {
    const l = new HandLayout(path.join(tmp(), 'two-same'));
    const a = image(l, { os: 'linux', architecture: 'arm', variant: 'v6' });
    const b = image(l, { os: 'linux', architecture: 'arm64' });
    l.setIndex([a, { ...b, annotations: { [REF]: 'x' } }, { ...image(l, { os: 'linux', architecture: 'arm64', variant: 'v8' }), annotations: { [REF]: 'y', extra: '1' } }]);
    // arm64 runs arm/v6 too, but arm64 itself comes first: and there are two of them
    const e = await openImage(l.dir, { platform: { architecture: 'arm64' } }).catch((x) => x);
    expect(e).toMatchObject({ code: 'LAYERFS_BAD_IMAGE' });
    expect(e.message).toMatch(/2 images for the platform linux\/arm64.*x \[linux\/arm64\].*y \[linux\/arm64\/v8\]/);
    l.setIndex([a, b]);
    expect(await platformOf(l.dir, { platform: { architecture: 'arm64' } })).toBe('linux/arm64');
    l.setIndex([a]);
    expect(await platformOf(l.dir, { platform: { architecture: 'arm64' } })).toBe('linux/arm/v6');
  });

  test('Docker manifest lists and media types; a descriptor without a media type is told by its content', async () => {
    const l = new HandLayout(path.join(tmp(), 'docker'));
    const list = l.putJson({ schemaVersion: 2, mediaType: DOCKER_LIST, manifests: [image(l, { os: 'linux', architecture: other }, true), image(l, { os: 'linux', architecture: host.architecture }, true)] }, DOCKER_LIST);
    l.setIndex([{ digest: list.digest, size: list.size, annotations: { [REF]: 'd' } }]);
    const img = await openImage(`${l.dir}:d`);
    expect(img.manifest.mediaType).toBe(DOCKER_MANIFEST);
    expect(img.layers[0].compression).toBe('gzip');
    expect(img.config.architecture).toBe(host.architecture);
  });

  test('one manifest under two tags is one image; two untagged images without platforms are a choice to make', async () => {
    const l = new HandLayout(path.join(tmp(), 'dup'));
    const m = image(l, { os: 'linux', architecture: other });
    l.setIndex([{ ...m, platform: undefined, annotations: { [REF]: 'a' } }, { ...m, platform: undefined, annotations: { [REF]: 'b' } }]);
    expect(await platformOf(l.dir)).toBe(`linux/${other}`);
    const m2 = image(l, { os: 'linux', architecture: 'riscv64' });
    l.setIndex([{ ...m, platform: undefined }, { ...m2, platform: undefined }]);
    await expect(openImage(l.dir)).rejects.toMatchObject({ code: 'LAYERFS_BAD_IMAGE', message: expect.stringContaining('choose one with PATH:TAG') });
  });
});
