import * as fs from 'fs';
import * as path from 'path';
import { sha256, parseDigest, hexOf } from '../digest';
import { BadImageError, DigestMismatchError, NotFoundError, SizeMismatchError } from '../errors';
import { dirSource, tarSource, FileSource } from './source';
import { verifyingStream } from './verify';
import { compressionOf, Descriptor, ImageFormat, ImageLayer, OpenedImage, Platform, DOCKER_LIST, OCI_INDEX, REF_NAME } from './types';

const MAX_META = 4 << 20;

/** `PATH`, `PATH:TAG` (as skopeo and umoci name an image in a layout), with optional `oci:`, `oci-archive:`, `docker-archive:` prefixes. */
export function parseImageRef(ref: string): { path: string; tag?: string; format?: ImageFormat } {
  let format: ImageFormat | undefined;
  const m = /^(oci|oci-archive|docker-archive):(.*)$/.exec(ref);
  if (m) {
    format = m[1] as ImageFormat;
    ref = m[2];
  }
  if (fs.existsSync(ref)) return { path: ref, format };
  const i = ref.lastIndexOf(':');
  if (i > 0 && fs.existsSync(ref.slice(0, i))) return { path: ref.slice(0, i), tag: ref.slice(i + 1), format };
  throw new NotFoundError(ref, `no image at ${JSON.stringify(ref)}: not a layout directory or an archive file`);
}

/** Is this a path to an image (layout or archive), told by its contents? */
export function looksLikeImage(ref: string): boolean {
  try {
    const { path: p } = parseImageRef(ref);
    const st = fs.statSync(p);
    if (st.isDirectory()) return fs.existsSync(path.join(p, 'oci-layout'));
    const s = tarSource(p);
    return s.has('index.json') || s.has('manifest.json');
  } catch {
    return false;
  }
}

function readBlob(src: FileSource, d: Descriptor, what: string): Buffer {
  const name = `blobs/sha256/${hexOf(d.digest)}`;
  if (!src.has(name)) throw new NotFoundError(d.digest, `${what} (${d.digest}) is missing: no ${name}`);
  const b = src.read(name, MAX_META);
  if (b.length !== d.size) throw new SizeMismatchError(`${what} (${d.digest})`, d.size, b.length);
  const seen = sha256(b);
  if (seen !== d.digest) throw new DigestMismatchError(`${what} (${d.digest})`, d.digest, seen);
  return b;
}

const hostArch = (): string => ({ x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x' } as Record<string, string>)[process.arch] ?? process.arch;

function pickManifest(src: FileSource, index: any, tag: string | undefined, platform: Platform | undefined, where: string): Descriptor {
  let list: Descriptor[] = index.manifests ?? [];
  if (tag !== undefined) {
    const tagged = list.filter((d) => d.annotations?.[REF_NAME] === tag);
    if (!tagged.length) throw new NotFoundError(tag, `no tag ${JSON.stringify(tag)} in ${where}; tags: ${list.map((d) => d.annotations?.[REF_NAME]).filter(Boolean).join(', ') || '(none)'}`);
    list = tagged;
  }
  // an image index inside: choose by platform
  if (list.length === 1 && (list[0].mediaType === OCI_INDEX || list[0].mediaType === DOCKER_LIST)) {
    const nested = JSON.parse(readBlob(src, list[0], 'image index').toString('utf8'));
    list = nested.manifests ?? [];
  }
  if (list.length > 1 || platform) {
    const want = { os: platform?.os ?? 'linux', architecture: platform?.architecture ?? hostArch(), variant: platform?.variant };
    const byPlatform = list.filter((d) => !d.platform || (d.platform.os === want.os && d.platform.architecture === want.architecture && (!want.variant || d.platform.variant === want.variant)));
    if (byPlatform.length === 1 || (byPlatform.length && list.some((d) => d.platform))) list = byPlatform.slice(0, 1);
  }
  if (list.length !== 1) {
    const choices = list.map((d) => `${d.annotations?.[REF_NAME] ?? d.digest}${d.platform ? ` (${d.platform.os}/${d.platform.architecture})` : ''}`);
    throw new BadImageError(`${where} holds ${list.length} images; choose one with PATH:TAG or a platform: ${choices.join(', ') || '(none)'}`);
  }
  return list[0];
}

function ociImage(src: FileSource, format: ImageFormat, p: string, tag: string | undefined, platform?: Platform): OpenedImage {
  if (!src.has('index.json')) throw new BadImageError(`${p} has no index.json`);
  const index = JSON.parse(src.read('index.json', MAX_META).toString('utf8'));
  const md = pickManifest(src, index, tag, platform, p);
  const manifest = JSON.parse(readBlob(src, md, 'manifest').toString('utf8'));
  const config = JSON.parse(readBlob(src, manifest.config, 'config').toString('utf8'));
  const descs: Descriptor[] = manifest.layers ?? [];
  const diffIds: string[] = config.rootfs?.diff_ids ?? [];
  if (diffIds.length !== descs.length) throw new BadImageError(`${p}: the config lists ${diffIds.length} diff_ids but the manifest ${descs.length} layers`);
  const layers: ImageLayer[] = descs.map((d, i) => ({
    descriptor: d,
    diffId: parseDigest(diffIds[i], `diff_ids[${i}]`),
    compression: compressionOf(d.mediaType),
    open: () => {
      const name = `blobs/sha256/${hexOf(d.digest)}`;
      if (!src.has(name)) throw new NotFoundError(d.digest, `layer ${i} (${d.digest}) is missing: no ${name}`);
      return src.open(name).pipe(verifyingStream(d, `layer ${i} (${d.digest})`));
    },
  }));
  return { format, path: p, tag: tag ?? md.annotations?.[REF_NAME], manifestDigest: md.digest, manifest, config, configDigest: manifest.config.digest, layers };
}

function dockerImage(src: FileSource, p: string, tag: string | undefined): OpenedImage {
  const entries = JSON.parse(src.read('manifest.json', MAX_META).toString('utf8')) as Array<{ Config: string; RepoTags?: string[]; Layers: string[] }>;
  let pick = entries;
  if (tag !== undefined) pick = entries.filter((e) => (e.RepoTags ?? []).some((t) => t === tag || t.endsWith(':' + tag)));
  if (pick.length !== 1) throw new BadImageError(`${p} holds ${pick.length} matching images; choose one with PATH:NAME:TAG: ${entries.map((e) => (e.RepoTags ?? []).join(',') || e.Config).join('; ')}`);
  const e = pick[0];
  const cfgBytes = src.read(e.Config, MAX_META);
  const configDigest = sha256(cfgBytes);
  const named = /([a-f0-9]{64})(\.json)?$/.exec(e.Config);
  if (named && 'sha256:' + named[1] !== configDigest) throw new DigestMismatchError(`config ${e.Config}`, 'sha256:' + named[1], configDigest);
  const config = JSON.parse(cfgBytes.toString('utf8'));
  const diffIds: string[] = config.rootfs?.diff_ids ?? [];
  if (diffIds.length !== e.Layers.length) throw new BadImageError(`${p}: the config lists ${diffIds.length} diff_ids but manifest.json ${e.Layers.length} layers`);
  const layers: ImageLayer[] = e.Layers.map((name, i) => {
    if (!src.has(name)) throw new NotFoundError(name, `layer ${i} (${name}) is missing from ${p}`);
    const hex = /blobs\/sha256\/([a-f0-9]{64})$/.exec(name);
    const size = src.size(name);
    const descriptor = hex ? { mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: 'sha256:' + hex[1], size } : { mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: null, size };
    return {
      descriptor,
      diffId: parseDigest(diffIds[i], `diff_ids[${i}]`),
      compression: 'unknown' as const,
      open: () => (descriptor.digest ? src.open(name).pipe(verifyingStream({ digest: descriptor.digest, size }, `layer ${i} (${name})`)) : src.open(name)),
    };
  });
  return { format: 'docker-archive', path: p, tag: e.RepoTags?.[0], manifestDigest: sha256(JSON.stringify(e)), manifest: e, config, configDigest, layers };
}

/** Opens an OCI layout, an oci-archive or a docker-archive, told by its contents; metadata is verified on the way. */
export async function openImage(ref: string, opts: { tag?: string; platform?: Platform } = {}): Promise<OpenedImage> {
  const parsed = parseImageRef(ref);
  const tag = opts.tag ?? parsed.tag;
  const p = path.resolve(parsed.path);
  if (fs.statSync(p).isDirectory()) {
    if (!fs.existsSync(path.join(p, 'oci-layout'))) throw new BadImageError(`${p} is a directory but not an OCI image layout (no oci-layout file)`);
    return ociImage(dirSource(p), 'oci', p, tag, opts.platform);
  }
  const src = tarSource(p);
  if (src.has('index.json')) return ociImage(src, 'oci-archive', p, tag, opts.platform);
  if (src.has('manifest.json')) return dockerImage(src, p, tag);
  throw new BadImageError(`${p} is neither an OCI layout, an oci-archive nor a docker-archive`);
}
