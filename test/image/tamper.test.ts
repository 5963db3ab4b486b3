import * as fs from 'fs';
import * as path from 'path';
import { openImage, TarIndex } from '../../lib/image';
import { DigestMismatchError, SizeMismatchError } from '../../lib/errors';
import { describeIf } from '../fixtures/peers';
import { useTempDir } from '../fixtures/tmp';
import { buildForms, copyLayout, Forms, HandLayout, readAll, sha } from './image-forms';

const REF = 'org.opencontainers.image.ref.name';

describeIf(['umoci', 'skopeo'])('openImage: tampered images fail with their own error, naming the blob', () => {
  const tmp = useTempDir('image-tamper');
  let f: Forms;
  let n = 0;
  beforeAll(() => {
    f = buildForms(tmp());
  }, 120000);

  /** A copy of the umoci layout, with tag l2's manifest and config open to changes (rewritten with fresh digests). */
  function tamper(change: (l: HandLayout, manifest: any, config: any) => void): string {
    const l = copyLayout(f.fx.layout, path.join(tmp(), `t${n++}`));
    const index = l.index();
    const md = index.manifests.find((m) => m.annotations?.[REF] === 'l2')!;
    const manifest = l.readJson(md.digest);
    const config = l.readJson(manifest.config.digest);
    const [manifestBefore, configBefore] = [JSON.stringify(manifest), JSON.stringify(config)];
    change(l, manifest, config);
    if (JSON.stringify(config) !== configBefore) manifest.config = l.putJson(config, manifest.config.mediaType);
    if (JSON.stringify(manifest) !== manifestBefore) {
      const m = l.putJson(manifest, md.mediaType);
      Object.assign(md, { digest: m.digest, size: m.size });
      l.setIndex(index.manifests);
    }
    return `${l.dir}:l2`;
  }

  test('a flipped byte in a layer blob: DigestMismatchError when the layer is read, naming it, expected and seen', async () => {
    let seen = '';
    const ref = tamper((l, m) => {
      const file = l.blobPath(m.layers[1].digest);
      const b = fs.readFileSync(file);
      b[b.length - 20] ^= 0xff;
      fs.writeFileSync(file, b);
      seen = sha(b);
    });
    const img = await openImage(ref); // sizes agree: only the bytes tell
    const e = await readAll(img.layers[1].open()).catch((x) => x);
    expect(e).toBeInstanceOf(DigestMismatchError);
    expect(e).toMatchObject({ what: `layer 1 (${f.fx.layers[1].digest})`, expected: f.fx.layers[1].digest, actual: seen });
    expect(e.message).toContain(`layer 1 (${f.fx.layers[1].digest})`);
    // the untouched layer still reads
    expect(sha(await readAll(img.layers[0].open()))).toBe(f.fx.layers[0].digest);
  });

  test('a flipped byte inside an archive member: the same, for oci-archive and docker-archive', async () => {
    for (const [src, member] of [
      [f.ociArchive, `blobs/sha256/${f.fx.layers[1].digest.slice(7)}`],
      [f.dockerArchive, `${f.fx.diffIds[1].slice(7)}.tar`],
    ]) {
      const copy = path.join(tmp(), `flip-${n++}.tar`);
      fs.copyFileSync(src, copy);
      const m = TarIndex.open(copy).get(member)!;
      const fd = fs.openSync(copy, 'r+');
      const byte = Buffer.alloc(1);
      fs.readSync(fd, byte, 0, 1, m.offset + 7);
      byte[0] ^= 0x40;
      fs.writeSync(fd, byte, 0, 1, m.offset + 7);
      fs.closeSync(fd);
      const img = await openImage(copy);
      const e = await readAll(img.layers[1].open()).catch((x) => x);
      expect(e).toBeInstanceOf(DigestMismatchError);
      expect(e.what).toMatch(/^layer 1 \(sha256:/);
      expect(e.expected).toBe(img.layers[1].descriptor.digest);
      expect(e.actual).not.toBe(e.expected);
    }
  });

  test('a descriptor with a wrong size: SizeMismatchError at open, with both sizes', async () => {
    const ref = tamper((_l, m) => {
      m.layers[1].size += 1;
    });
    const e = await openImage(ref).catch((x) => x);
    expect(e).toBeInstanceOf(SizeMismatchError);
    expect(e).toMatchObject({ expected: f.fx.layers[1].size + 1, actual: f.fx.layers[1].size });
    expect(e.message).toContain(`layer 1 (${f.fx.layers[1].digest})`);
  });

  test('a manifest naming a missing blob: NotFoundError naming it', async () => {
    const ref = tamper((l, m) => fs.rmSync(l.blobPath(m.layers[0].digest)));
    const e = await openImage(ref).catch((x) => x);
    expect(e).toMatchObject({ code: 'LAYERFS_NOT_FOUND' });
    expect(e.message).toContain(`layer 0 (${f.fx.layers[0].digest}) is missing`);
    const noConfig = tamper((l, m) => fs.rmSync(l.blobPath(m.config.digest)));
    await expect(openImage(noConfig)).rejects.toMatchObject({ code: 'LAYERFS_NOT_FOUND', message: expect.stringMatching(/^config \(sha256:/) });
  });

  test('diff_ids and layers disagree in number: BadImageError', async () => {
    const ref = tamper((_l, _m, c) => c.rootfs.diff_ids.push('sha256:' + '0'.repeat(64)));
    await expect(openImage(ref)).rejects.toMatchObject({ code: 'LAYERFS_BAD_IMAGE', message: expect.stringContaining('3 diff_ids but the manifest') });
  });

  test('a changed manifest or config blob: DigestMismatchError naming it', async () => {
    const flip = (l: HandLayout, digest: string) => {
      const file = l.blobPath(digest);
      fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace(/"/, ' "').slice(0, -1)); // same size, other bytes
    };
    const badManifest = tamper((l) => flip(l, l.index().manifests.find((m) => m.annotations?.[REF] === 'l2')!.digest));
    await expect(openImage(badManifest)).rejects.toMatchObject({ code: 'LAYERFS_DIGEST_MISMATCH', message: expect.stringMatching(/^manifest \(sha256:/) });
    const badConfig = tamper((l, m) => flip(l, m.config.digest));
    await expect(openImage(badConfig)).rejects.toMatchObject({ code: 'LAYERFS_DIGEST_MISMATCH', message: expect.stringMatching(/^config \(sha256:/) });
  });

  test('metadata over 4 MiB, unknown layer media types, and artifacts are refused', async () => {
    const huge = tamper((_l, _m, c) => {
      c.config = { ...(c.config ?? {}), Labels: { padding: 'x'.repeat(5 << 20) } };
    });
    await expect(openImage(huge)).rejects.toMatchObject({ code: 'LAYERFS_LIMIT', message: expect.stringContaining('config') });
    const encrypted = tamper((_l, m) => {
      m.layers[0].mediaType = 'application/vnd.oci.image.layer.v1.tar+gzip+encrypted';
    });
    await expect(openImage(encrypted)).rejects.toMatchObject({ code: 'LAYERFS_UNSUPPORTED', message: expect.stringContaining('+encrypted') });
    const artifact = tamper((_l, m) => {
      m.config.mediaType = 'application/vnd.cncf.helm.config.v1+json';
    });
    await expect(openImage(artifact)).rejects.toMatchObject({ code: 'LAYERFS_BAD_IMAGE', message: expect.stringContaining('not a container image') });
  });

  test('docker-archive: a missing layer member, and a config that is not what its name says', async () => {
    const stage = path.join(tmp(), 'docker-stage');
    fs.mkdirSync(stage);
    require('child_process').execFileSync('tar', ['-xf', f.dockerArchive, '-C', stage]);
    const entries = JSON.parse(fs.readFileSync(path.join(stage, 'manifest.json'), 'utf8'));
    const pack = (name: string) => {
      const out = path.join(tmp(), name);
      require('child_process').execFileSync('tar', ['-cf', out, '-C', stage, '.']);
      return out;
    };
    fs.writeFileSync(path.join(stage, 'manifest.json'), JSON.stringify([{ ...entries[0], Layers: [entries[0].Layers[0], 'gone/layer.tar'] }]));
    await expect(openImage(pack('missing.tar'))).rejects.toMatchObject({ code: 'LAYERFS_NOT_FOUND', message: expect.stringContaining('layer 1 (gone/layer.tar) is missing') });
    fs.writeFileSync(path.join(stage, 'manifest.json'), JSON.stringify(entries));
    const cfg = path.join(stage, entries[0].Config);
    fs.appendFileSync(cfg, ' ');
    const e = await openImage(pack('bad-config.tar')).catch((x) => x);
    expect(e).toMatchObject({ code: 'LAYERFS_DIGEST_MISMATCH', expected: 'sha256:' + entries[0].Config.replace('.json', '') });
    expect(e.message).toContain(`config (${entries[0].Config})`);
  });
});
