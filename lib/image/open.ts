import * as fs from 'fs';
import * as path from 'path';
import { BadImageError, NotFoundError } from '../errors';
import { hostPlatform, normalizePlatform, platformMatches, platformString } from '../oci/platform';
import { OCI_LAYOUT_FILE } from './media-types';
import { openDocker } from './open-docker';
import { openOci } from './open-oci';
import { parseImageRef } from './ref';
import { dirSource, tarSource } from './source';
import { TarIndex } from './tar-index';
import type { ImageFormat, OpenedImage, Platform } from './types';

export interface OpenImageOptions {
  /** overrides the tag in the reference */
  tag?: string;
  /** which image of a multi-platform index; default: this machine's */
  platform?: Platform;
}

/** Which form an archive is, by its members: index.json makes it an oci-archive (Docker 25+ writes both). */
function archiveFormat(index: TarIndex, hint: ImageFormat | undefined): ImageFormat | null {
  const oci = index.has('index.json') && index.has(OCI_LAYOUT_FILE);
  const docker = index.has('manifest.json');
  if (hint === 'oci') return null;
  if (hint === 'docker-archive') return docker ? hint : null;
  if (hint === 'oci-archive') return oci ? hint : null;
  return oci ? 'oci-archive' : docker ? 'docker-archive' : null;
}

/**
 * Opens an OCI image layout, an oci-archive or a docker-archive, told apart by their contents
 * (a transport prefix in `ref` only picks between forms an archive holds both of). The index,
 * manifest and config are read and verified here; layer blobs are checked to be present with
 * their sizes, and their bytes are verified as `layer.open()` streams them.
 */
export async function openImage(ref: string, opts: OpenImageOptions = {}): Promise<OpenedImage> {
  const parsed = parseImageRef(ref);
  const tag = opts.tag ?? parsed.tag;
  const p = path.resolve(parsed.path);
  let st: fs.Stats;
  try {
    st = fs.statSync(p);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new NotFoundError(ref, `no image at ${JSON.stringify(ref)}: no such layout directory or archive file`);
    throw e;
  }
  if (st.isDirectory()) {
    if (parsed.format && parsed.format !== 'oci') throw new BadImageError(`${p} is a directory, not an ${parsed.format} file`);
    if (!fs.existsSync(path.join(p, OCI_LAYOUT_FILE))) throw new BadImageError(`${p} is a directory but not an OCI image layout (no ${OCI_LAYOUT_FILE} file)`);
    return checkConfigPlatform(openOci(dirSource(p), 'oci', { tag, platform: opts.platform }), opts.platform);
  }
  const index = TarIndex.open(p);
  const format = archiveFormat(index, parsed.format);
  if (format === null) {
    const is = index.has('index.json') ? 'an oci-archive' : index.has('manifest.json') ? 'a docker-archive' : 'a tar file that is no image archive (no index.json or manifest.json)';
    throw new BadImageError(parsed.format ? `${p} is ${is}, not ${parsed.format === 'oci' ? 'an OCI layout directory' : 'an ' + parsed.format}` : `${p} is ${is}`);
  }
  const src = tarSource(index);
  return checkConfigPlatform(format === 'docker-archive' ? await openDocker(src, { tag }) : openOci(src, format, { tag, platform: opts.platform }), opts.platform);
}

/**
 * A platform asked for must be the image's: its config says what it is built for, which also
 * covers images no index describes (a docker-archive, a manifest without a platform).
 */
export async function checkConfigPlatform(img: OpenedImage, platform: Platform | undefined): Promise<OpenedImage> {
  const { os, architecture, variant } = img.config;
  if (!platform || typeof os !== 'string' || typeof architecture !== 'string') return img;
  const want = normalizePlatform(platform, hostPlatform());
  if (platformMatches({ os, architecture, variant }, want)) return img;
  await img.close();
  throw new NotFoundError(platformString(want), `no image for the platform ${platformString(want)} in ${img.path}: its image (${img.manifestDigest}) is for ${platformString({ os, architecture, variant })}`);
}

/** Is this a path to an image (layout or archive), told by its contents? Cheap: reads only tar headers, of at most 100,000 members. */
export function looksLikeImage(ref: string): boolean {
  try {
    const p = parseImageRef(ref).path;
    const st = fs.statSync(p);
    if (st.isDirectory()) return fs.existsSync(path.join(p, OCI_LAYOUT_FILE)) && fs.existsSync(path.join(p, 'index.json'));
    if (!st.isFile()) return false;
    const index = TarIndex.open(p, { maxMembers: 100_000 });
    return (index.has('index.json') && index.has(OCI_LAYOUT_FILE)) || index.has('manifest.json');
  } catch {
    return false;
  }
}
