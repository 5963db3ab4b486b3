import type { Compression } from '../types';
import { MEDIA_TYPES } from '../store/types';

export const OCI_LAYOUT_FILE = 'oci-layout';
export const OCI_LAYOUT_VERSION = '1.0.0';
export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
export const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';
export const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
export const DOCKER_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';
export const DOCKER_CONFIG = 'application/vnd.docker.container.image.v1+json';

/** the tag of a manifest in an index */
export const REF_NAME = 'org.opencontainers.image.ref.name';
/** the full image name containerd and Docker (25+) put next to the tag */
export const CONTAINERD_NAME = 'io.containerd.image.name';
export const BASE_DIGEST = 'org.opencontainers.image.base.digest';

export const MANIFEST_TYPES = [OCI_MANIFEST, DOCKER_MANIFEST];
export const INDEX_TYPES = [OCI_INDEX, DOCKER_LIST];
export const CONFIG_TYPES = [OCI_CONFIG, DOCKER_CONFIG];

const LAYER_RE = /^application\/vnd\.(oci\.image\.layer(\.nondistributable)?\.v1\.tar|docker\.image\.rootfs(\.foreign)?\.diff\.tar)(?:[+.](gzip|zstd))?$/;

/** The compression a layer media type names (OCI or Docker), or null when it is not a tar layer. */
export function compressionOf(mediaType: string): Compression | null {
  const m = LAYER_RE.exec(mediaType);
  if (!m) return null;
  return (m[4] as Compression | undefined) ?? 'none';
}

/** The OCI media type for a layer of either family (a Docker foreign layer is OCI's non-distributable one). */
export function ociLayerType(mediaType: string): string | null {
  const m = LAYER_RE.exec(mediaType);
  if (!m) return null;
  const c = (m[4] as Compression | undefined) ?? 'none';
  if (!(m[2] || m[3])) return MEDIA_TYPES[c];
  return 'application/vnd.oci.image.layer.nondistributable.v1.tar' + (c === 'none' ? '' : '+' + c);
}

/** Docker's media type for a layer of this compression (uncompressed: distribution's MediaTypeUncompressedLayer). */
export function dockerLayerType(c: Compression): string {
  return 'application/vnd.docker.image.rootfs.diff.tar' + (c === 'none' ? '' : '.' + c);
}
