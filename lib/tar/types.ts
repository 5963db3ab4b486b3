import type { Compression, WhiteoutFormatName, ProgressEvent } from '../types';

/** Safety limits applied while reading a tar stream. */
export interface TarLimits {
  /** largest PAX extended header or GNU long name/link body accepted (bytes) */
  maxHeaderBytes: number;
  /** deepest path accepted (components) */
  maxPathDepth: number;
  /**
   * largest ratio of uncompressed to compressed bytes, counted on the output past
   * `ratioGraceBytes`. Off by default (Infinity): no ratio tells a bomb from a legitimate
   * zero-filled file (deflate gives about 1030:1 for zeros, its ceiling, and zstd over 30000:1,
   * so 1000 refused a zstd layer past 64 MiB of zeros and a gzip one past about 2.2 GB). The
   * bound that holds is `maxUncompressedBytes` (a store import sets it: lib/store/limits.ts).
   */
  maxCompressionRatio: number;
  /** the ratio is only checked after this many uncompressed bytes, and on the bytes past them */
  ratioGraceBytes: number;
  /** largest uncompressed tar (bytes), whatever the ratio: the bound that holds for any input */
  maxUncompressedBytes: number;
  /** where maxUncompressedBytes came from, named in the error */
  maxUncompressedSource?: string;
}

export const DEFAULT_TAR_LIMITS: TarLimits = {
  maxHeaderBytes: 1 << 20,
  maxPathDepth: 1024,
  maxCompressionRatio: Number.POSITIVE_INFINITY,
  ratioGraceBytes: 64 << 20,
  maxUncompressedBytes: Number.MAX_SAFE_INTEGER,
};

export interface ApplyOptions {
  /** how deletions are written into the target */
  whiteout: WhiteoutFormatName;
  /** when set, every input byte (as received, still compressed) is also written to this new file */
  blobPath?: string;
  /** apply owners (lchown); default: when running as root. An ordinary user outside any user namespace who asks gets them kept in xattrs instead (user.rootlesscontainers, and devices in user.layerfs.device: lib/userns/owner-xattr.ts), as its store does */
  applyOwners?: boolean;
  /** safety limits; unset fields take DEFAULT_TAR_LIMITS */
  limits?: Partial<TarLimits>;
  signal?: AbortSignal;
  onProgress?: (p: ProgressEvent) => void;
  /** size of the input when known (for progress) */
  total?: number;
  /** fsync files and directories before returning */
  durable?: boolean;
  /** write the layer's manifest (paths, types, modes, sizes, content digests) here, from digests taken while writing */
  manifestPath?: string;
  /**
   * the layer directories below (bottom first): implicit parent directories take their metadata.
   * Given (`[]` for a bottom layer), it is the layer's chain: in the overlay formats a whiteout
   * that hides nothing of it is not kept (overlayfs would list it as a name lstat cannot find).
   */
  lowerDirs?: string[];
}

export interface ApplyResult {
  /** sha256 of the uncompressed tar */
  diffId: string;
  /** sha256 of the input bytes as received */
  digest: string;
  /** input bytes as received */
  size: number;
  uncompressedSize: number;
  compression: Compression;
  entries: number;
  /** what was skipped (devices when not permitted, fifos without the addon, xattrs the kernel refused) */
  warnings?: string[];
}

/** One entry handed to the deterministic packer. Paths are relative to the pack root, no leading slash. */
export interface PackEntry {
  /** path inside the layer, e.g. `etc/passwd` (a Buffer for names that are not UTF-8) */
  path: string | Buffer;
  /** where to read the entry's metadata and content from (lstat); default `root/path`; unused for whiteouts */
  source?: string | Buffer;
  /** a deletion: written as `.wh.<name>` */
  whiteout?: boolean;
  /** a directory that hides its lower contents: `.wh..wh..opq` is written right after the directory */
  opaque?: boolean;
  /**
   * the planner saw a regular file here: a pack of a confined tree whose observer needs no
   * descriptor opens a small one first and makes its entry from that descriptor's fstat (one
   * call of the addon: lib/tar/pack.ts)
   */
  file?: boolean;
}

export interface PackOptions {
  /** clamp mtimes to this (seconds since the epoch) */
  sourceDateEpoch?: number;
  /** owner to write instead of the file's own */
  owner?: { uid: number; gid: number };
  /** every entry's mtime (seconds since the epoch) instead of its own */
  mtime?: number;
  /** permission bits for regular files (executables keep x where the mode has r) and directories */
  fileMode?: number;
  dirMode?: number;
  /** how the source directory holds whiteouts (converted to `.wh.` entries); absent: a plain directory */
  whiteout?: WhiteoutFormatName;
  compression?: Compression;
  signal?: AbortSignal;
  onProgress?: (p: ProgressEvent) => void;
}

export interface PackResult {
  diffId: string;
  digest: string;
  size: number;
  uncompressedSize: number;
  compression: Compression;
  entries: number;
}
