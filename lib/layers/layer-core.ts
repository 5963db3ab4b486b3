import type { Readable } from 'stream';
import type { FileRange } from '../tar/apply-in-worker';
import { probeWhiteoutFormat } from '../whiteout';
import { inUserNamespace } from '../userns/identity';
import { UnionView } from '../view';
import { StoreCore } from '../store/store-core';
import type { Reextract } from '../store/check';
import type { LayerRecord, LayerRef } from '../store/types';
import type { Compression, WhiteoutFormatName } from '../types';
import { importLayerLocked, ImportLayerOptions } from './import-layer';
import { lazy } from '../lazy';

const repairs = lazy<typeof import('./reextract')>(() => require('./reextract'));
const compressedModule = lazy<typeof import('./compressed')>(() => require('./compressed'));

// the repair path loads the applier: only fsck --repair needs it

/**
 * The store with what layers add on top of its records: importing a layer tarball (stream into
 * staging, verify, publish), read-only views of a chain, repairing a damaged layer from its blob,
 * and the whiteout format a new store probes for. This is what the parts above (drivers,
 * containers, images, builds) receive; LayerStore, above them all, is the one opened.
 */
export abstract class LayerCore extends StoreCore {
  /** overlay when this process can create overlay whiteouts, else oci */
  static newStoreWhiteout(probeDir: string): WhiteoutFormatName {
    // in a user namespace overlayfs keeps its xattrs under user. (mounts take -o userxattr)
    return probeWhiteoutFormat(probeDir, { userxattr: inUserNamespace() });
  }

  /**
   * Imports a layer tarball (gzip, zstd or plain, detected by its bytes) on top of `parent`.
   * The blob is kept as received, so exportLayer gives back the same bytes.
   */
  importLayer(input: Readable | string | FileRange, opts: ImportLayerOptions = {}): Promise<LayerRef> {
    return this.withLock('shared', () => importLayerLocked(this, input, opts), { signal: opts.signal });
  }

  /**
   * The layer as an image export or push sends it: as it is, or, for a deferred layer (committed
   * with no compression asked), its blob compressed as `compression` (default gzip), made once
   * and kept (lib/layers/compressed.ts).
   */
  exportedLayer(chainId: string, compression?: Compression): Promise<LayerRecord> {
    return compressedModule().exportedLayer(this, chainId, compression);
  }

  /** A read-only union view of the chain, with no mount. */
  view(chainId: string | null): UnionView {
    return new UnionView(this.layerDirs(chainId), this.whiteout);
  }

  protected reextractor(): Reextract {
    return (l, recorded) => repairs().reextractLayer(this, l, recorded);
  }
}
