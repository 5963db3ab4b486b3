import { BadImageError, LimitExceededError, NotFoundError, UnsupportedError } from '../errors';
import { blobLabel, blobName, checkAnnotations, checkBlobPresent, checkDescriptor, MAX_METADATA, parseJson, readBlob, withBlobFile } from './blobs';
import { checkConfig, checkLayerCount } from './config';
import { CONFIG_TYPES, compressionOf, INDEX_TYPES, MANIFEST_TYPES, OCI_LAYOUT_FILE, OCI_MANIFEST } from './media-types';
import { selectManifest } from './select';
import type { ImageSource } from './source';
import type { Descriptor, ImageLayer, ImageManifest, OpenedImage, Platform } from './types';
import { verifyingStream } from './verify';

/** A small file of the layout that no descriptor describes (oci-layout, index.json). */
function readLayoutFile(src: ImageSource, name: string): unknown {
  const size = src.size(name);
  if (size === undefined) throw new BadImageError(`${src.where} has no ${name}: not an OCI image layout`);
  if (size > MAX_METADATA) throw new LimitExceededError(null, `${src.where}: ${name} is ${size} bytes, over the ${MAX_METADATA}-byte limit for metadata`);
  return parseJson(src.read(name), `${src.where}: ${name}`);
}

function checkLayoutVersion(src: ImageSource): void {
  const v = (readLayoutFile(src, OCI_LAYOUT_FILE) as { imageLayoutVersion?: unknown } | null)?.imageLayoutVersion;
  if (typeof v !== 'string' || !/^1\./.test(v)) throw new UnsupportedError(`${src.where}: image layout version ${JSON.stringify(v)} (this reads 1.x)`);
}

function checkManifest(json: unknown, md: Descriptor, where: string): ImageManifest {
  const what = `${where}: manifest ${md.digest}`;
  const m = json as Partial<ImageManifest> | null;
  if (typeof m !== 'object' || m === null) throw new BadImageError(`${what} is not a JSON object`);
  if (m.mediaType !== undefined && !MANIFEST_TYPES.includes(m.mediaType)) {
    if (INDEX_TYPES.includes(m.mediaType)) throw new BadImageError(`${what} is an image index, but its descriptor says ${md.mediaType || 'nothing'}`);
    throw new UnsupportedError(`${what} has the media type ${m.mediaType}, not an image manifest`);
  }
  if (m.schemaVersion !== 2) throw new UnsupportedError(`${what} has schemaVersion ${JSON.stringify(m.schemaVersion)} (this reads 2)`);
  if (!Array.isArray(m.layers)) throw new BadImageError(`${what} has no layers list`);
  if (m.config === undefined) throw new BadImageError(`${what} has no config`);
  checkAnnotations(m.annotations, what);
  return m as ImageManifest;
}

function layerOf(src: ImageSource, d: Descriptor, i: number, diffId: string): ImageLayer {
  const what = blobLabel(`layer ${i}`, d.digest);
  const compression = compressionOf(d.mediaType);
  if (compression === null) throw new UnsupportedError(`${src.where}: ${what} has the media type ${JSON.stringify(d.mediaType)}, not a tar layer (plain, gzip or zstd)`);
  if (src.size(blobName(d.digest)) === undefined && d.urls?.length) {
    throw new NotFoundError(d.digest, `${what} is a foreign layer, not in ${src.where}; it is at ${d.urls.join(', ')}`);
  }
  checkBlobPresent(src, d, `layer ${i}`);
  const layer: ImageLayer = { descriptor: d, diffId, compression, open: () => verifyingStream(src.open(blobName(d.digest)), d, what) };
  return withBlobFile(layer, src.locate(blobName(d.digest)));
}

/** An OCI image layout, as a directory or an archive; every descriptor on the way is verified. */
export function openOci(src: ImageSource, format: 'oci' | 'oci-archive' | 'docker', opts: { tag?: string; platform?: Platform }): OpenedImage {
  const where = src.where;
  checkLayoutVersion(src);
  const picked = selectManifest(src, readLayoutFile(src, 'index.json'), opts);
  const md = picked.descriptor;
  if (md.mediaType && !MANIFEST_TYPES.includes(md.mediaType)) throw new UnsupportedError(`${where}: ${md.digest} has the media type ${md.mediaType}, not an image manifest`);
  const manifestBytes = readBlob(src, md, 'manifest');
  const manifest = checkManifest(parseJson(manifestBytes, `${where}: manifest ${md.digest}`), md, where);
  const cd = checkDescriptor(manifest.config, `${where}: manifest ${md.digest} config`);
  if (cd.mediaType && !CONFIG_TYPES.includes(cd.mediaType)) throw new BadImageError(`${where}: manifest ${md.digest} is not a container image: its config has the media type ${cd.mediaType}`);
  const configBytes = readBlob(src, cd, 'config');
  const config = checkConfig(parseJson(configBytes, blobLabel('config', cd.digest)), blobLabel('config', cd.digest));
  const descs = manifest.layers.map((d, i) => checkDescriptor(d, `${where}: layer ${i}`));
  checkLayerCount(config, descs.length, `the manifest ${md.digest} lists`, where);
  const layers = descs.map((d, i) => layerOf(src, d, i, config.rootfs.diff_ids[i]));
  return {
    format,
    path: where,
    tag: picked.tag,
    manifestDigest: md.digest,
    manifest,
    config,
    configDigest: cd.digest,
    layers,
    raw: { manifest: manifestBytes, mediaType: md.mediaType || manifest.mediaType || OCI_MANIFEST, config: configBytes },
    close: async () => src.close(),
  };
}
