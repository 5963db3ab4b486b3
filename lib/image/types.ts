import type { Readable } from 'stream';
import type { Hash } from 'crypto';
import type { Compression } from '../types';
import type { Platform } from '../oci/platform';

export type ImageFormat = 'oci' | 'oci-archive' | 'docker-archive';
/** where an opened image came from: a local form, or a registry (`docker`, skopeo's name for the transport) */
export type ImageOrigin = ImageFormat | 'docker';

export type { Platform };

/** An OCI content descriptor (the Docker v2 schema 2 one has the same shape). */
export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
  platform?: Platform;
  urls?: string[];
}

export type { ContainerConfig, HistoryEntry, ImageConfig } from '../oci/image-config';
import type { ImageConfig } from '../oci/image-config';

export interface ImageLayer {
  /** the blob as the manifest describes it (docker-archive: as the archive holds it) */
  descriptor: Descriptor;
  /** from the config's rootfs.diff_ids; checking it is the unpacker's job */
  diffId: string;
  /** told by the media type */
  compression: Compression;
  /** the blob bytes exactly as stored, failing at the end unless they match the descriptor */
  open(): Readable;
  /**
   * A registry's layer: the bytes from `offset` on, failing at the end unless the bytes before
   * (which `hash` has seen) and these give the descriptor's digest. For a resumed download.
   */
  openFrom?(offset: number, hash: Hash): Readable;
}

export interface OpenedImage {
  format: ImageOrigin;
  /** the layout directory or archive file, absolute; for a registry, docker://HOST/REPO:TAG */
  path: string;
  /** the tag the image was chosen by, or the only one it has */
  tag?: string;
  /** docker-archive has no manifest blob: this is the digest of the Docker v2 manifest made for it */
  manifestDigest: string;
  manifest: ImageManifest;
  config: ImageConfig;
  configDigest: string;
  layers: ImageLayer[];
  /** the manifest and config exactly as the source holds them (a push or copy sends these bytes, so the digests stay) */
  raw?: RawImage;
  /** after close, layers can no longer be opened */
  close(): Promise<void>;
}

/** An image's manifest and config blobs, byte for byte, with the manifest's media type. */
export interface RawImage {
  manifest: Buffer;
  mediaType: string;
  config: Buffer;
}

/** An image manifest (OCI, or Docker v2 schema 2). */
export interface ImageManifest {
  schemaVersion: 2;
  mediaType?: string;
  artifactType?: string;
  config: Descriptor;
  layers: Descriptor[];
  subject?: Descriptor;
  annotations?: Record<string, string>;
}

/** An image index (OCI, or a Docker manifest list); index.json is one. */
export interface ImageIndex {
  schemaVersion: 2;
  mediaType?: string;
  manifests: Descriptor[];
  annotations?: Record<string, string>;
}
