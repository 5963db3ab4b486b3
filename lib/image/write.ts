import * as fs from 'fs';
import * as path from 'path';
import { pipeline } from 'stream/promises';
import type { Readable } from 'stream';
import * as tarStream from 'tar-stream';
import { sha256, hexOf } from '../digest';
import { verifyingStream } from './verify';
import { Descriptor, ImageConfig, ImageFormat, OCI_CONFIG, OCI_MANIFEST, REF_NAME } from './types';

export interface WriteImageOptions {
  format: ImageFormat;
  tag?: string;
  config: ImageConfig;
  layers: { descriptor: Descriptor; open(): Readable }[];
}

interface Blob {
  digest: string;
  size: number;
  bytes?: Buffer;
  open?: () => Readable;
}

/** Writes an image whose manifest, config and layers are consistent; every blob is verified as it is copied. */
export async function writeImage(dest: string, opts: WriteImageOptions): Promise<{ manifestDigest: string; configDigest: string }> {
  const configBytes = Buffer.from(JSON.stringify(opts.config));
  const configDesc: Descriptor = { mediaType: OCI_CONFIG, digest: sha256(configBytes), size: configBytes.length };
  const manifest = { schemaVersion: 2, mediaType: OCI_MANIFEST, config: configDesc, layers: opts.layers.map((l) => ({ mediaType: l.descriptor.mediaType, digest: l.descriptor.digest, size: l.descriptor.size })) };
  const manifestBytes = Buffer.from(JSON.stringify(manifest));
  const manifestDesc: Descriptor = { mediaType: OCI_MANIFEST, digest: sha256(manifestBytes), size: manifestBytes.length };
  if (opts.tag) manifestDesc.annotations = { [REF_NAME]: opts.tag };
  const blobs: Blob[] = [
    { digest: configDesc.digest, size: configDesc.size, bytes: configBytes },
    { digest: manifestDesc.digest, size: manifestDesc.size, bytes: manifestBytes },
    ...opts.layers.map((l, i) => ({ digest: l.descriptor.digest, size: l.descriptor.size, open: () => l.open().pipe(verifyingStream(l.descriptor, `layer ${i} (${l.descriptor.digest})`)) })),
  ];
  if (opts.format === 'oci') await writeLayout(dest, blobs, manifestDesc, opts.tag);
  else {
    const files: Array<{ name: string; blob: Blob }> = [];
    const small = (name: string, b: Buffer) => files.push({ name, blob: { digest: sha256(b), size: b.length, bytes: b } });
    if (opts.format === 'oci-archive') {
      small('oci-layout', Buffer.from('{"imageLayoutVersion":"1.0.0"}'));
      small('index.json', Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [manifestDesc] })));
    } else {
      const repoTag = opts.tag ? (opts.tag.includes(':') ? opts.tag : `${opts.tag}:latest`) : undefined;
      small('manifest.json', Buffer.from(JSON.stringify([{ Config: `blobs/sha256/${hexOf(configDesc.digest)}`, RepoTags: repoTag ? [repoTag] : [], Layers: opts.layers.map((l) => `blobs/sha256/${hexOf(l.descriptor.digest)}`) }])));
    }
    const seen = new Set<string>();
    for (const b of blobs) {
      if (opts.format === 'docker-archive' && b.digest === manifestDesc.digest) continue;
      if (seen.has(b.digest)) continue;
      seen.add(b.digest);
      files.push({ name: `blobs/sha256/${hexOf(b.digest)}`, blob: b });
    }
    await writeArchive(dest, files);
  }
  return { manifestDigest: manifestDesc.digest, configDigest: configDesc.digest };
}

async function writeLayout(dest: string, blobs: Blob[], manifestDesc: Descriptor, tag?: string): Promise<void> {
  const blobDir = path.join(dest, 'blobs', 'sha256');
  fs.mkdirSync(blobDir, { recursive: true });
  fs.writeFileSync(path.join(dest, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  for (const b of blobs) {
    const file = path.join(blobDir, hexOf(b.digest));
    if (fs.existsSync(file)) continue;
    const tmp = `${file}.${process.pid}.tmp`;
    try {
      if (b.bytes) fs.writeFileSync(tmp, b.bytes);
      else await pipeline(b.open!(), fs.createWriteStream(tmp));
      fs.renameSync(tmp, file);
    } catch (e) {
      fs.rmSync(tmp, { force: true });
      throw e;
    }
  }
  // add to an existing index, replacing an image of the same tag
  const indexFile = path.join(dest, 'index.json');
  const index = fs.existsSync(indexFile) ? JSON.parse(fs.readFileSync(indexFile, 'utf8')) : { schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [] };
  index.manifests = (index.manifests as Descriptor[]).filter((d) => (tag ? d.annotations?.[REF_NAME] !== tag : d.digest !== manifestDesc.digest));
  index.manifests.push(manifestDesc);
  fs.writeFileSync(`${indexFile}.tmp`, JSON.stringify(index));
  fs.renameSync(`${indexFile}.tmp`, indexFile);
}

/** A tar of the given members, written as a stream (blobs are never held in memory whole). */
async function writeArchive(dest: string, files: Array<{ name: string; blob: Blob }>): Promise<void> {
  const pack = tarStream.pack();
  const tmp = path.join(path.dirname(path.resolve(dest)), `.${path.basename(dest)}.${process.pid}.tmp`);
  const out = pipeline(pack, fs.createWriteStream(tmp));
  try {
    const header = (name: string, size: number) => ({ name, size, mode: 0o644, mtime: new Date(0), uid: 0, gid: 0, type: 'file' as const });
    for (const dir of ['blobs/', 'blobs/sha256/']) pack.entry({ name: dir, type: 'directory', mode: 0o755, mtime: new Date(0) });
    for (const f of files) {
      if (f.blob.bytes) {
        pack.entry(header(f.name, f.blob.size), f.blob.bytes);
        continue;
      }
      await new Promise<void>((resolve, reject) => {
        const entry = pack.entry(header(f.name, f.blob.size), (err) => (err ? reject(err) : resolve()));
        const src = f.blob.open!();
        src.on('error', (e) => {
          entry.destroy(e);
          reject(e);
        });
        src.pipe(entry);
      });
    }
    pack.finalize();
    await out;
    fs.renameSync(tmp, dest);
  } catch (e) {
    pack.destroy();
    await out.catch(() => undefined);
    fs.rmSync(tmp, { force: true });
    throw e;
  }
}
