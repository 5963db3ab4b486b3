import * as os from 'os';
import * as path from 'path';
import { hexOf } from '../digest';

/** The default store: $LAYERFS_STORE, else $XDG_DATA_HOME/layerfs, else ~/.local/share/layerfs. */
export function defaultStoreDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.LAYERFS_STORE) return path.resolve(env.LAYERFS_STORE);
  if (env.XDG_DATA_HOME) return path.join(path.resolve(env.XDG_DATA_HOME), 'layerfs');
  return path.join(os.homedir(), '.local', 'share', 'layerfs');
}

/** The one module that knows where everything lives inside a store. */
export class StorePaths {
  constructor(readonly root: string) {}

  get configFile(): string { return path.join(this.root, 'store.json'); }
  get lockFile(): string { return path.join(this.root, 'lock'); }
  get blobsDir(): string { return path.join(this.root, 'blobs', 'sha256'); }
  get layersDir(): string { return path.join(this.root, 'layers'); }
  get containersDir(): string { return path.join(this.root, 'containers'); }
  get imagesDir(): string { return path.join(this.root, 'images'); }
  get tmpDir(): string { return path.join(this.root, 'tmp'); }
  /** the OCI runtime's state (`--root`) in a user namespace, where /run/runc is the host root's */
  get runtimeStateDir(): string { return path.join(this.root, 'runtime'); }
  /** the container names' index (lib/container/names.ts) */
  get containerNamesDir(): string { return path.join(this.root, 'container-names'); }
  get originsDir(): string { return path.join(this.root, 'origins'); }
  get downloadsDir(): string { return path.join(this.root, 'downloads'); }

  blob(digest: string): string { return path.join(this.blobsDir, hexOf(digest)); }
  layer(chainId: string): string { return path.join(this.layersDir, hexOf(chainId)); }
  layerDiff(chainId: string): string { return path.join(this.layer(chainId), 'diff'); }
  layerRecord(chainId: string): string { return path.join(this.layer(chainId), 'layer.json'); }
  contentIndex(chainId: string): string { return path.join(this.layer(chainId), 'manifest.json'); }
  /** a deferred layer's compressed blob, once an export or push has made it (CompressedForm) */
  layerCompressed(chainId: string, compression: string): string { return path.join(this.layer(chainId), `compressed-${compression}.json`); }

  container(id: string): string { return path.join(this.containersDir, id); }
  containerRecord(id: string): string { return path.join(this.container(id), 'container.json'); }
  containerUpper(id: string): string { return path.join(this.container(id), 'upper'); }
  containerWork(id: string): string { return path.join(this.container(id), 'work'); }
  containerMerged(id: string): string { return path.join(this.container(id), 'merged'); }
  containerRoot(id: string): string { return path.join(this.container(id), 'root'); }
  containerSnapshot(id: string): string { return path.join(this.container(id), 'manifest'); }
  containerNameClaims(name: string): string { return path.join(this.containerNamesDir, name); }

  image(name: string): string { return path.join(this.imagesDir, encodeURIComponent(name) + '.json'); }
  download(digest: string): string { return path.join(this.downloadsDir, hexOf(digest)); }
  origin(digest: string): string { return path.join(this.originsDir, hexOf(digest) + '.json'); }
}
