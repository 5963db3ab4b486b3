import type { Compression, WhiteoutFormatName } from '../types';

/** The vocabulary lives in lib/types.ts; named here too for the files that still import it from here. */
export type { Compression, WhiteoutFormatName, ProgressEvent, OperationOptions } from '../types';

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
  /**
   * No compression was asked when it was made (a commit): the blob is the uncompressed tar, and
   * an image export or push compresses it the first time one needs it, keeping that blob too
   * (its `CompressedForm` beside layer.json). A layer whose compression was asked, or that was
   * imported, is exported as it is.
   */
  deferred?: true;
}

/** layers/<chainid-hex>/compressed-<kind>.json: a deferred layer's blob compressed, as exports and pushes send it */
export interface CompressedForm {
  digest: string;
  size: number;
  mediaType: string;
  compression: Compression;
}
