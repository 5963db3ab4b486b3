/**
 * A containers-storage of its own (what buildah and podman use), under the bench's scratch
 * directory so that nothing of the machine's own storage is touched, holding the bench image.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { spawnSync } from 'child_process';
import { removeTree, sh, why } from './common';

export class PeerStorage {
  private imageId: string | undefined;
  private failure: unknown;

  /** podman refuses a runroot longer than 50 characters: it lives in a short temporary path */
  private readonly runroot: string;

  constructor(readonly driver: 'overlay' | 'vfs', readonly dir: string, private readonly archive: string) {
    const tmp = os.tmpdir().length < 20 ? os.tmpdir() : '/tmp';
    this.runroot = path.join(tmp, `lfsb-${process.pid}-${path.basename(dir)}`);
  }

  private get flags(): string {
    return `--root ${this.dir}/root --runroot ${this.runroot} --storage-driver ${this.driver}`;
  }
  get buildah(): string {
    return `buildah ${this.flags}`;
  }
  get podman(): string {
    return `podman ${this.flags} --cgroup-manager cgroupfs --events-backend file`;
  }
  /** The pull of the bench image into this storage (import + unpack): what `image()` runs once. */
  get pullCommand(): string {
    return `${this.buildah} pull -q oci-archive:${this.archive}`;
  }

  /** The image id, pulled on first use; throws (every time) when the peer cannot run here. */
  image(): string {
    if (this.failure) throw this.failure;
    if (!this.imageId) {
      try {
        fs.mkdirSync(this.dir, { recursive: true });
        this.imageId = sh(this.pullCommand).trim().split('\n').pop()!;
        // a name keeps it from being pruned as a dangling parent when a committed image is removed
        sh(`${this.buildah} tag ${this.imageId} localhost/bench-image`);
      } catch (e) {
        this.failure = e;
        throw e;
      }
    }
    return this.imageId;
  }

  /** Why `tool` cannot run on this storage (not installed, or the image could not be pulled), or undefined when it can. */
  unavailable(missing: (tool: string) => string | undefined, tool: 'buildah' | 'podman'): string | undefined {
    const m = missing(tool);
    if (m) return m;
    try {
      this.image();
      return undefined;
    } catch (e) {
      return `could not run here: ${why(e)}`;
    }
  }

  /** Removes every container and the storage itself, mounts first. */
  destroy(): void {
    if (fs.existsSync(this.dir)) {
      spawnSync('bash', ['-c', `${this.buildah} rm --all; ${this.podman} rm --all --force`], { stdio: 'ignore', timeout: 120000 });
      removeTree(this.dir);
    }
    removeTree(this.runroot);
  }

  static under(work: string, driver: 'overlay' | 'vfs', archive: string): PeerStorage {
    return new PeerStorage(driver, path.join(work, `containers-storage-${driver}`), archive);
  }
}
