import type { Readable } from 'stream';
import { sha256 } from '../digest';
import { InvalidArgumentError } from '../errors';
import { blobLabel, blobName, checkDescriptor } from './blobs';
import { OutBlob, uniqueBlobs } from './blob-copy';
import { checkConfig, checkLayerCount } from './config';
import { dockerArchiveManifest } from './docker-manifest';
import { BASE_DIGEST, compressionOf, dockerLayerType, OCI_CONFIG, OCI_INDEX, OCI_LAYOUT_FILE, OCI_LAYOUT_VERSION, OCI_MANIFEST, ociLayerType, REF_NAME } from './media-types';
import { ArchiveMember, checkArchiveTarget, writeArchive } from './write-archive';
import { checkLayoutTarget, writeLayout } from './write-layout';
import { rawPartsFor } from './raw';
import type { Descriptor, ImageConfig, ImageFormat, ImageManifest, OpenedImage, RawImage } from './types';

export interface WriteImageOptions {
  format: ImageFormat;
  /** OCI: the ref.name (`latest`); docker-archive: the repository tag (`name:tag`, `name` means `name:latest`) */
  tag?: string;
  config: ImageConfig;
  /** bottom first; each stream is verified against its descriptor as it is copied */
  layers: Array<{ descriptor: Descriptor; open(): Readable }>;
  /** the image this one is built on: its manifest annotations are kept, and its digest recorded */
  base?: OpenedImage;
  /** manifest annotations, over the base's */
  annotations?: Record<string, string>;
  /** the source's manifest and config bytes (a copy): written as they are when they name these layers and nothing is to change */
  raw?: RawImage;
}

export interface WrittenImage {
  /** docker-archive: the digest of the Docker v2 manifest openImage makes for it */
  manifestDigest: string;
  configDigest: string;
}

const FORMATS: ImageFormat[] = ['oci', 'oci-archive', 'docker-archive'];

/** OCI's grammar for ref.name. */
const OCI_REF = /^[A-Za-z0-9]+(?:(?:[-._:@+]|--)[A-Za-z0-9]+)*(?:\/[A-Za-z0-9]+(?:(?:[-._:@+]|--)[A-Za-z0-9]+)*)*$/;
const DOCKER_COMPONENT = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';
const DOCKER_REF = new RegExp(`^(?:[a-zA-Z0-9](?:[a-zA-Z0-9.-]*[a-zA-Z0-9])?(?::[0-9]+)?/)?${DOCKER_COMPONENT}(?:/${DOCKER_COMPONENT})*:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`);

/** `name` is `name:latest`, as docker tags it. */
export function dockerRepoTag(tag: string): string {
  const t = /:[^/]*$/.test(tag) ? tag : `${tag}:latest`;
  if (!DOCKER_REF.test(t)) throw new InvalidArgumentError(`${JSON.stringify(tag)} is not a repository tag (name:tag, lower-case name) for a docker-archive`);
  return t;
}

function smallMember(name: string, b: Buffer): ArchiveMember {
  return { name, blob: { digest: sha256(b), size: b.length, what: name, bytes: b } };
}

/** The blobs directory, then each blob once. */
function blobMembers(blobs: OutBlob[]): ArchiveMember[] {
  return [{ name: 'blobs/', dir: true }, { name: 'blobs/sha256/', dir: true }, ...uniqueBlobs(blobs).map((b) => ({ name: blobName(b.digest), blob: b }))];
}

function manifestAnnotations(opts: WriteImageOptions): Record<string, string> | undefined {
  const base = opts.base;
  const a: Record<string, string> = { ...(base?.manifest.annotations ?? {}), ...(opts.annotations ?? {}) };
  // a docker-archive's manifest digest is made up (see dockerArchiveManifest): not one to point at
  if (base && base.format !== 'docker-archive') a[BASE_DIGEST] = base.manifestDigest;
  return Object.keys(a).length ? a : undefined;
}

/**
 * What writeImage checks before it writes anything: the format, the tag for that format, and
 * the destination (an archive is a file; a layout directory is a layout or empty). Callers with
 * work to do first (a commit) call it before that work. Returns the docker-archive repository tag.
 */
export function checkImageTarget(dest: string, opts: { format: ImageFormat; tag?: string }): string | undefined {
  if (!FORMATS.includes(opts.format)) throw new InvalidArgumentError(`unknown image format ${JSON.stringify(opts.format)} (${FORMATS.join(', ')})`);
  if (opts.tag !== undefined && opts.format !== 'docker-archive' && !OCI_REF.test(opts.tag)) throw new InvalidArgumentError(`${JSON.stringify(opts.tag)} is not a valid OCI ref.name`);
  if (opts.format === 'oci') checkLayoutTarget(dest);
  else checkArchiveTarget(dest);
  return opts.tag !== undefined && opts.format === 'docker-archive' ? dockerRepoTag(opts.tag) : undefined;
}

/** An image config's bytes and descriptor, as written (the same config gives the same digest). */
export function configBytesOf(config: ImageConfig): { configBytes: Buffer; configDesc: Descriptor } {
  const configBytes = Buffer.from(JSON.stringify(config));
  return { configBytes, configDesc: { mediaType: OCI_CONFIG, digest: sha256(configBytes), size: configBytes.length } };
}

/** The platform an index entry gives a manifest of this config. */
function platformOf(config: ImageConfig): Pick<Descriptor, 'platform'> {
  if (!config.os || !config.architecture) return {};
  return { platform: config.variant ? { architecture: config.architecture, os: config.os, variant: config.variant } : { architecture: config.architecture, os: config.os } };
}

/**
 * The OCI manifest of a config and its layers (media types made OCI's), its bytes, and its
 * descriptor with the config's platform: what a layout, an archive and a registry push all get.
 */
export function ociManifest(config: ImageConfig, configDesc: Descriptor, layers: Descriptor[], annotations?: Record<string, string>): { manifest: ImageManifest; manifestBytes: Buffer; manifestDesc: Descriptor } {
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: configDesc,
    layers: layers.map((d) => {
      const out: Descriptor = { mediaType: ociLayerType(d.mediaType)!, digest: d.digest, size: d.size };
      if (d.urls) out.urls = d.urls;
      if (d.annotations) out.annotations = d.annotations;
      return out;
    }),
  };
  if (annotations) manifest.annotations = annotations;
  const manifestBytes = Buffer.from(JSON.stringify(manifest));
  const manifestDesc: Descriptor = { mediaType: OCI_MANIFEST, digest: sha256(manifestBytes), size: manifestBytes.length, ...platformOf(config) };
  return { manifest, manifestBytes, manifestDesc };
}

/**
 * Writes an image as an OCI layout (added to one that exists, replacing the image of the same
 * tag), an oci-archive or a docker-archive (manifest.json with blobs under blobs/sha256, as
 * Docker 25+ writes). The manifest and config are made here from `config` and the layer
 * descriptors; every layer's bytes are verified while they are copied, and nothing is left at
 * `dest` (beyond blobs a layout keeps) when one does not match.
 */
export async function writeImage(dest: string, opts: WriteImageOptions): Promise<WrittenImage> {
  const repoTag = checkImageTarget(dest, opts);
  const config = checkConfig(opts.config, 'the config to write');
  checkLayerCount(config, opts.layers.length, 'there are', dest);
  const descs = opts.layers.map((l, i) => {
    const d = checkDescriptor(l.descriptor, `layer ${i}`);
    if (compressionOf(d.mediaType) === null) throw new InvalidArgumentError(`layer ${i} (${d.digest}) has the media type ${JSON.stringify(d.mediaType)}, not a tar layer (plain, gzip or zstd)`);
    return d;
  });
  // a copy keeps the source's bytes (and so its digests) when nothing about the image changes; a
  // layout gets an OCI manifest (a Docker one is made OCI, as skopeo does), an archive the config
  const raw = !opts.base && !opts.annotations && (opts.format === 'docker-archive' || opts.raw?.mediaType === OCI_MANIFEST) ? rawPartsFor(opts.raw, descs) : null;
  const { configBytes, configDesc } = raw ?? configBytesOf(config);
  const layerBlobs: OutBlob[] = opts.layers.map((l, i) => ({ digest: descs[i].digest, size: descs[i].size, what: blobLabel(`layer ${i}`, descs[i].digest), open: () => l.open() }));
  const configBlob: OutBlob = { ...configDesc, what: blobLabel('config', configDesc.digest), bytes: configBytes };

  if (opts.format === 'docker-archive') {
    const manifestJson = [{ Config: blobName(configDesc.digest), RepoTags: repoTag ? [repoTag] : [], Layers: descs.map((d) => blobName(d.digest)) }];
    await writeArchive(dest, [smallMember('manifest.json', Buffer.from(JSON.stringify(manifestJson))), ...blobMembers([configBlob, ...layerBlobs])]);
    const docker = dockerArchiveManifest(configDesc, descs.map((d) => ({ mediaType: dockerLayerType(compressionOf(d.mediaType)!), digest: d.digest, size: d.size })));
    return { manifestDigest: docker.digest, configDigest: configDesc.digest };
  }

  const { manifestBytes, manifestDesc } = raw ? { manifestBytes: raw.manifestBytes, manifestDesc: { ...raw.manifestDesc, ...platformOf(config) } } : ociManifest(config, configDesc, descs, manifestAnnotations(opts));
  if (opts.tag !== undefined) manifestDesc.annotations = { [REF_NAME]: opts.tag };
  const manifestBlob: OutBlob = { ...manifestDesc, what: blobLabel('manifest', manifestDesc.digest), bytes: manifestBytes };

  if (opts.format === 'oci') await writeLayout(dest, [...layerBlobs, configBlob, manifestBlob], manifestDesc, opts.tag);
  else {
    const index = { schemaVersion: 2, mediaType: OCI_INDEX, manifests: [manifestDesc] };
    await writeArchive(dest, [
      smallMember(OCI_LAYOUT_FILE, Buffer.from(JSON.stringify({ imageLayoutVersion: OCI_LAYOUT_VERSION }))),
      smallMember('index.json', Buffer.from(JSON.stringify(index))),
      ...blobMembers([manifestBlob, configBlob, ...layerBlobs]),
    ]);
  }
  return { manifestDigest: manifestDesc.digest, configDigest: configDesc.digest };
}
