export type Compression = 'gzip' | 'zstd' | 'none';
export type WhiteoutFormatName = 'oci' | 'overlay' | 'overlay-userxattr';

export const MEDIA_TYPES: Record<Compression, string> = {
  none: 'application/vnd.oci.image.layer.v1.tar',
  gzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  zstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
};

/** What importLayer/commit return: enough to reference the layer from an image. */
export interface LayerRef {
  diffId: string;
  chainId: string;
  digest: string;
  mediaType: string;
  size: number;
}

/** layers/<chainid-hex>/layer.json */
export interface LayerRecord extends LayerRef {
  parent: string | null;
  compression: Compression;
  /** bytes of the uncompressed tar */
  uncompressedSize: number;
  entries: number;
  whiteout: WhiteoutFormatName;
  created: string;
}

export interface ProgressEvent {
  /** bytes of input consumed so far */
  bytes: number;
  /** total input bytes when known */
  total?: number;
  entries?: number;
}

export interface OperationOptions {
  signal?: AbortSignal;
  onProgress?: (p: ProgressEvent) => void;
}
