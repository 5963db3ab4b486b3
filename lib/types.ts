/*
 * The shared vocabulary: the words every folder of lib/ uses (ARCHITECTURE.md, "Concepts"). A leaf
 * (rank 0): it imports nothing, so any file may import it, and it loads nothing at run time
 * beyond DRIVER_CHOICES (a CLI can name the drivers cheaply).
 */

/** How a layer blob is compressed. */
export type Compression = 'gzip' | 'zstd' | 'none';

/** How deletions are written in a directory of the store (one per store). */
export type WhiteoutFormatName = 'oci' | 'overlay' | 'overlay-userxattr';

/** How a container is realised. */
export type DriverName = 'overlay' | 'copy';
/** A driver, or `auto`: overlay when it can mount. */
export type DriverChoice = DriverName | 'auto';

/** Every choice, in the order the CLI offers them. */
export const DRIVER_CHOICES: readonly DriverChoice[] = ['overlay', 'copy', 'auto'];

/** What an operation reports as it goes. */
export interface ProgressEvent {
  /** bytes of input consumed so far */
  bytes: number;
  /** total input bytes when known */
  total?: number;
  entries?: number;
}

/** The options every long operation takes: a signal to stop it, a callback for its progress. */
export interface OperationOptions {
  signal?: AbortSignal;
  onProgress?: (p: ProgressEvent) => void;
}
