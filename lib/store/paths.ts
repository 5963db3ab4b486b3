import * as os from 'os';
import * as path from 'path';
import { hexOf } from '../digest';

/** The default store: $LAYERFS_STORE, else $XDG_DATA_HOME/layerfs, else ~/.local/share/layerfs. */
export function defaultStoreDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.LAYERFS_STORE) return path.resolve(env.LAYERFS_STORE);
  if (env.XDG_DATA_HOME) return path.join(path.resolve(env.XDG_DATA_HOME), 'layerfs');
  return path.join(os.homedir(), '.local', 'share', 'layerfs');
}

/**
 * The entries of a container's directory, by name: StorePaths joins them to the container's
 * directory, lib/drivers/layout.ts to its staging directory while it is being created.
 */
export const CONTAINER_ENTRIES = { record: 'container.json', upper: 'upper', work: 'work', merged: 'merged', root: 'root', manifest: 'manifest' } as const;

/**
 * The one module that knows where everything lives inside a store. Its directories are joined once,
 * and a path inside one in a single join: a short command asks for dozens of paths, and path.join
 * called for every level of each made it hot enough for V8 to spend milliseconds optimising it.
 */
export class StorePaths {
  readonly configFile: string;
  readonly lockFile: string;
  readonly blobsDir: string;
  readonly layersDir: string;
  readonly containersDir: string;
  readonly imagesDir: string;
  readonly tmpDir: string;
  /** the OCI runtime's state (`--root`) in a user namespace, where /run/runc is the host root's */
  readonly runtimeStateDir: string;
  /** the container names' index (lib/container/names.ts) */
  readonly containerNamesDir: string;
  readonly originsDir: string;
  readonly downloadsDir: string;

  constructor(readonly root: string) {
    this.configFile = path.join(root, 'store.json');
    this.lockFile = path.join(root, 'lock');
    this.blobsDir = path.join(root, 'blobs', 'sha256');
    this.layersDir = path.join(root, 'layers');
    this.containersDir = path.join(root, 'containers');
    this.imagesDir = path.join(root, 'images');
    this.tmpDir = path.join(root, 'tmp');
    this.runtimeStateDir = path.join(root, 'runtime');
    this.containerNamesDir = path.join(root, 'container-names');
    this.originsDir = path.join(root, 'origins');
    this.downloadsDir = path.join(root, 'downloads');
  }

  blob(digest: string): string { return path.join(this.blobsDir, hexOf(digest)); }
  layer(chainId: string): string { return path.join(this.layersDir, hexOf(chainId)); }
  layerDiff(chainId: string): string { return path.join(this.layersDir, hexOf(chainId), 'diff'); }
  layerRecord(chainId: string): string { return path.join(this.layersDir, hexOf(chainId), 'layer.json'); }
  contentIndex(chainId: string): string { return path.join(this.layersDir, hexOf(chainId), 'manifest.json'); }
  /** a deferred layer's compressed blob, once an export or push has made it (CompressedForm) */
  layerCompressed(chainId: string, compression: string): string { return path.join(this.layersDir, hexOf(chainId), `compressed-${compression}.json`); }

  container(id: string): string { return path.join(this.containersDir, id); }
  containerRecord(id: string): string { return path.join(this.containersDir, id, CONTAINER_ENTRIES.record); }
  containerUpper(id: string): string { return path.join(this.containersDir, id, CONTAINER_ENTRIES.upper); }
  containerWork(id: string): string { return path.join(this.containersDir, id, CONTAINER_ENTRIES.work); }
  containerMerged(id: string): string { return path.join(this.containersDir, id, CONTAINER_ENTRIES.merged); }
  containerRoot(id: string): string { return path.join(this.containersDir, id, CONTAINER_ENTRIES.root); }
  containerSnapshot(id: string): string { return path.join(this.containersDir, id, CONTAINER_ENTRIES.manifest); }
  containerNameClaims(name: string): string { return path.join(this.containerNamesDir, name); }

  image(name: string): string { return path.join(this.imagesDir, encodeURIComponent(name) + '.json'); }
  download(digest: string): string { return path.join(this.downloadsDir, hexOf(digest)); }
  origin(digest: string): string { return path.join(this.originsDir, hexOf(digest) + '.json'); }
}
