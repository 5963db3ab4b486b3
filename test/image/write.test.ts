import * as fs from 'fs';
import * as path from 'path';
import { execFileSync } from 'child_process';
import { Readable } from 'stream';
import { openImage, writeImage, ImageFormat, OpenedImage, REF_NAME } from '../../lib/image';
import { DigestMismatchError } from '../../lib/errors';
import { describeIf } from '../fixtures/peers';
import { useTempDir } from '../fixtures/tmp';
import { buildForms, Forms, HandLayout, readAll, sha, skopeo } from './image-forms';

const FORMATS: ImageFormat[] = ['oci', 'oci-archive', 'docker-archive'];

describeIf(['umoci', 'skopeo'])('writeImage: layouts and archives that skopeo and umoci read', () => {
  const tmp = useTempDir('image-write');
  let f: Forms;
  let n = 0;
  beforeAll(() => {
    f = buildForms(tmp());
  }, 120000);

  const destOf = (format: ImageFormat) => path.join(tmp(), `out-${n++}${format === 'oci' ? '' : '.tar'}`);
  const skopeoRef = (format: ImageFormat, dest: string, tag: string) => (format === 'oci' ? `oci:${dest}:${tag}` : format === 'oci-archive' ? `oci-archive:${dest}` : `docker-archive:${dest}`);
  const copyOf = (img: OpenedImage) => ({ config: img.config, layers: img.layers });

  test('every source form written in every format: skopeo inspects it with the same layers, and it opens again', async () => {
    for (const src of [f.layout, f.ociArchive, f.dockerArchive, f.zstdLayout]) {
      const img = await openImage(src);
      for (const format of FORMATS) {
        const dest = destOf(format);
        const tag = format === 'docker-archive' ? 'written:v1' : 'v1';
        const r = await writeImage(dest, { format, tag, ...copyOf(img) });
        const inspected = JSON.parse(skopeo(tmp(), 'inspect', skopeoRef(format, dest, 'v1')));
        // skopeo names a docker-archive's layers by DiffID (it decompresses them as it reads)
        const layers = format === 'docker-archive' ? f.fx.diffIds : img.layers.map((l) => l.descriptor.digest);
        expect({ src, format, layers: inspected.Layers }).toEqual({ src, format, layers });
        const cfg = JSON.parse(skopeo(tmp(), 'inspect', '--config', skopeoRef(format, dest, 'v1')));
        expect(cfg.rootfs.diff_ids).toEqual(f.fx.diffIds);
        const back = await openImage(format === 'oci' ? `${dest}:v1` : dest);
        expect(back.format).toBe(format);
        expect(back.manifestDigest).toBe(r.manifestDigest);
        expect(back.configDigest).toBe(r.configDigest);
        expect(back.config).toEqual(img.config);
        for (const [i, l] of back.layers.entries()) {
          expect(l.descriptor.digest).toBe(img.layers[i].descriptor.digest);
          expect(l.compression).toBe(img.layers[i].compression);
          expect(sha(await readAll(l.open()))).toBe(l.descriptor.digest);
        }
        if (format === 'docker-archive') expect(back.tag).toBe('written:v1');
        await back.close();
      }
      await img.close();
    }
  });

  test('a written layout unpacks with umoci to the image; written archives copy with skopeo', async () => {
    for (const src of [f.layout, f.dockerArchive]) {
      const img = await openImage(src);
      const dest = destOf('oci');
      await writeImage(dest, { format: 'oci', tag: 'u', ...copyOf(img) });
      const bundle = path.join(tmp(), `bundle-${n++}`);
      execFileSync('umoci', ['unpack', ...(process.getuid?.() === 0 ? [] : ['--rootless']), '--image', `${dest}:u`, bundle], { stdio: 'pipe' });
      const root = path.join(bundle, 'rootfs');
      expect(fs.readFileSync(path.join(root, 'a.txt'), 'utf8')).toBe('A\n');
      expect(fs.readFileSync(path.join(root, 'dir/c.txt'), 'utf8')).toBe('c\n');
      expect(fs.readlinkSync(path.join(root, 'lnk'))).toBe('a.txt');
      expect(fs.existsSync(path.join(root, 'gone.txt'))).toBe(false);
      for (const format of ['oci-archive', 'docker-archive'] as const) {
        const file = destOf(format);
        await writeImage(file, { format, tag: format === 'docker-archive' ? 'c:1' : 'c', ...copyOf(img) });
        const copied = path.join(tmp(), `copied-${n++}`);
        skopeo(tmp(), 'copy', skopeoRef(format, file, 'c'), `oci:${copied}:c`);
        expect(JSON.parse(skopeo(tmp(), 'inspect', '--config', `oci:${copied}:c`)).rootfs.diff_ids).toEqual(f.fx.diffIds);
      }
      await img.close();
    }
  });

  test('a layout grows by tag: a new tag is added, the same tag replaced, an untagged image added once', async () => {
    const l2 = await openImage(f.layout);
    const l1 = await openImage(`${f.fx.layout}:l1`);
    const dest = destOf('oci');
    const a = await writeImage(dest, { format: 'oci', tag: 'a', ...copyOf(l2) });
    const b = await writeImage(dest, { format: 'oci', tag: 'b', ...copyOf(l1) });
    const index = () => new HandLayout(dest).index().manifests.map((m) => [m.annotations?.[REF_NAME], m.digest]);
    expect(index()).toEqual([['a', a.manifestDigest], ['b', b.manifestDigest]]);
    await writeImage(dest, { format: 'oci', tag: 'a', ...copyOf(l1) });
    expect(index()).toEqual([['b', b.manifestDigest], ['a', b.manifestDigest]]);
    await writeImage(dest, { format: 'oci', ...copyOf(l2) });
    await writeImage(dest, { format: 'oci', ...copyOf(l2) });
    expect(index()).toEqual([['b', b.manifestDigest], ['a', b.manifestDigest], [undefined, a.manifestDigest]]);
    // the index entry names the platform of the config
    expect(new HandLayout(dest).index().manifests[0].platform).toEqual({ architecture: l1.config.architecture, os: l1.config.os });
    // a written layout is as umoci keeps one: it can add to it
    execFileSync('umoci', ['tag', '--image', `${dest}:a`, 'by-umoci'], { stdio: 'pipe' });
    expect((await openImage(`${dest}:by-umoci`)).manifestDigest).toBe(b.manifestDigest);
  });

  test('archives are deterministic: the same image gives the same bytes', async () => {
    const img = await openImage(f.layout);
    for (const format of ['oci-archive', 'docker-archive'] as const) {
      const [x, y] = [destOf(format), destOf(format)];
      await writeImage(x, { format, tag: 'same:1', ...copyOf(img) });
      await writeImage(y, { format, tag: 'same:1', ...copyOf(img) });
      expect(sha(fs.readFileSync(x))).toBe(sha(fs.readFileSync(y)));
    }
  });

  test('a layer whose bytes do not match its descriptor fails the write, naming it; nothing is left behind', async () => {
    const img = await openImage(f.layout);
    const lying = img.layers.map((l, i) => (i === 1 ? { descriptor: l.descriptor, open: () => Readable.from([Buffer.from('not the layer'.padEnd(l.descriptor.size, '!'))]) } : l));
    for (const format of FORMATS) {
      const dir = path.join(tmp(), `fail-${n++}`);
      fs.mkdirSync(dir);
      const dest = path.join(dir, format === 'oci' ? 'layout' : 'x.tar');
      if (format === 'oci') await writeImage(dest, { format, tag: 'old', ...copyOf(await openImage(`${f.fx.layout}:l1`)) });
      const before = format === 'oci' ? fs.readFileSync(path.join(dest, 'index.json'), 'utf8') : null;
      const e = await writeImage(dest, { format, tag: 'bad', config: img.config, layers: lying }).catch((x) => x);
      expect(e).toBeInstanceOf(DigestMismatchError);
      expect(e.what).toBe(`layer 1 (${img.layers[1].descriptor.digest})`);
      if (format === 'oci') {
        expect(fs.readFileSync(path.join(dest, 'index.json'), 'utf8')).toBe(before);
        expect(fs.readdirSync(path.join(dest, 'blobs/sha256'))).not.toContain(img.layers[1].descriptor.digest.slice(7));
        expect(fs.readdirSync(dest).sort()).toEqual(['blobs', 'index.json', 'oci-layout']);
      } else expect(fs.readdirSync(dir)).toEqual([]);
    }
  });

  test('the base image: its manifest annotations are kept and its digest recorded', async () => {
    const src = await openImage(f.layout);
    const based = destOf('oci');
    const first = await writeImage(based, { format: 'oci', tag: 'base', ...copyOf(src), annotations: { 'org.example.kept': 'yes' } });
    const base = await openImage(`${based}:base`);
    const dest = destOf('oci');
    await writeImage(dest, { format: 'oci', tag: 'next', ...copyOf(base), base, annotations: { 'org.example.mine': '1' } });
    const next = await openImage(`${dest}:next`);
    expect(next.manifest.annotations).toEqual({ 'org.example.kept': 'yes', 'org.example.mine': '1', 'org.opencontainers.image.base.digest': first.manifestDigest });
    expect(JSON.parse(skopeo(tmp(), 'inspect', '--raw', `oci:${dest}:next`)).annotations['org.opencontainers.image.base.digest']).toBe(first.manifestDigest);
  });

  test('bad arguments: tags, a diff_ids count that does not fit, a directory that is not a layout', async () => {
    const img = await openImage(f.layout);
    await expect(writeImage(destOf('docker-archive'), { format: 'docker-archive', tag: 'Upper:Case', ...copyOf(img) })).rejects.toMatchObject({ code: 'LAYERFS_INVALID_ARGUMENT' });
    await expect(writeImage(destOf('oci'), { format: 'oci', tag: 'no spaces', ...copyOf(img) })).rejects.toMatchObject({ code: 'LAYERFS_INVALID_ARGUMENT' });
    await expect(writeImage(destOf('oci'), { format: 'oci', config: img.config, layers: img.layers.slice(1) })).rejects.toMatchObject({ code: 'LAYERFS_BAD_IMAGE' });
    const notLayout = path.join(tmp(), `not-layout-${n++}`);
    fs.mkdirSync(notLayout);
    fs.writeFileSync(path.join(notLayout, 'precious'), 'x');
    await expect(writeImage(notLayout, { format: 'oci', ...copyOf(img) })).rejects.toMatchObject({ code: 'LAYERFS_INVALID_ARGUMENT' });
    expect(fs.readdirSync(notLayout)).toEqual(['precious']);
    // docker-archive: a bare name is name:latest
    const file = destOf('docker-archive');
    await writeImage(file, { format: 'docker-archive', tag: 'bare', ...copyOf(img) });
    expect((await openImage(file)).tag).toBe('bare:latest');
  });
});
