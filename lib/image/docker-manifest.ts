import { sha256 } from '../digest';
import { DOCKER_CONFIG, DOCKER_MANIFEST } from './media-types';
import type { Descriptor, ImageManifest } from './types';

/**
 * A docker-archive holds no manifest: this is the Docker v2 schema 2 manifest that describes
 * it (config and layer blobs as the archive holds them). Reading and writing make it the same
 * way, so the digest writeImage returns is the one openImage reports.
 */
export function dockerArchiveManifest(config: { digest: string; size: number }, layers: Descriptor[]): { manifest: ImageManifest; digest: string } {
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: DOCKER_MANIFEST,
    config: { mediaType: DOCKER_CONFIG, size: config.size, digest: config.digest },
    layers: layers.map((l) => ({ mediaType: l.mediaType, size: l.size, digest: l.digest })),
  };
  return { manifest, digest: sha256(JSON.stringify(manifest)) };
}
