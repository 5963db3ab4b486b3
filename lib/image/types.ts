import type { Readable } from 'stream';
import type { Compression } from '../store/types';

export type ImageFormat = 'oci' | 'oci-archive' | 'docker-archive';

export interface Platform {
  os?: string;
  architecture?: string;
  variant?: string;
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
  platform?: Platform;
}

export interface ImageConfig {
  architecture?: string;
  os?: string;
  created?: string;
  config?: Record<string, unknown>;
  rootfs: { type: 'layers'; diff_ids: string[] };
  history?: Array<{ created?: string; created_by?: string; comment?: string; empty_layer?: boolean }>;
  [k: string]: unknown;
}

export interface ImageLayer {
  /** digest and size are null when the archive does not say (docker-archive `<id>/layer.tar`) */
  descriptor: Descriptor | { mediaType: string; digest: null; size: number };
  diffId: string;
  compression: Compression | 'unknown';
  /** the blob exactly as stored */
  open(): Readable;
}

export interface OpenedImage {
  format: ImageFormat;
  path: string;
  tag?: string;
  manifestDigest: string;
  manifest: Record<string, any>;
  config: ImageConfig;
  configDigest: string;
  layers: ImageLayer[];
}

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
export const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';
export const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
export const DOCKER_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';
export const REF_NAME = 'org.opencontainers.image.ref.name';

export function compressionOf(mediaType: string): Compression | 'unknown' {
  if (/gzip/.test(mediaType)) return 'gzip';
  if (/zstd/.test(mediaType)) return 'zstd';
  if (/tar$/.test(mediaType)) return 'none';
  return 'unknown';
}
