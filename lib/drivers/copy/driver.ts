import * as fs from 'fs';
import * as native from '../../native';
import { snapshotChangesAsync } from '../../diff';
import { runWorker } from '../../workers';
import { UnsupportedError } from '../../errors';
import type { Change, TreeInput } from '../../diff/types';
import type { OperationOptions } from '../../types';
import type { ChangesOptions, Driver, ContainerRef, MountSpec } from '../types';
import { MATERIALISE_WORKER } from './materialise.protocol';
import type { MaterialiseJob } from './materialise.protocol';
import { containerLayout } from '../layout';
import { bindReadOnly, isMountPoint, unmountTarget, UnmountOptions } from '../mounts';
import { removeContainerDir } from '../remove';

/**
 * Containers as materialised copies: root/ is a copy of the chain's union (made from the
 * UnionView, so no mount and no privilege is needed), with regular files cloned by reflink where
 * the filesystem can. `manifest` records what every entry looked like right after the copy, so
 * a diff compares stat data, not contents.
 *
 * A read-only copy container is root/ bind-mounted read-only on merged/ (which needs the
 * privilege to mount); a writable one needs no mount at all.
 */
export class CopyDriver implements Driver {
  readonly name = 'copy' as const;

  async prepare(c: ContainerRef, dir: string, opts: OperationOptions = {}): Promise<void> {
    const l = containerLayout(c.store.paths, c.record.id, dir);
    if (c.record.readOnly) fs.mkdirSync(l.merged);
    const job: MaterialiseJob = { layers: c.store.layerDirs(c.record.chain), whiteout: c.store.whiteout, root: l.root, manifest: l.manifest };
    await runWorker(MATERIALISE_WORKER, job, {
      signal: opts.signal,
      onMessage: (m) => {
        if (m.type === 'progress') opts.onProgress?.({ bytes: m.bytes, entries: m.entries });
      },
    });
  }

  private layout(c: ContainerRef) {
    return containerLayout(c.store.paths, c.record.id);
  }

  path(c: ContainerRef): string {
    return this.mountPoint(c) ?? this.layout(c).root;
  }

  mountPoint(c: ContainerRef): string | null {
    return c.record.readOnly ? this.layout(c).merged : null;
  }

  async mounts(c: ContainerRef): Promise<MountSpec[]> {
    return [{ type: 'bind', source: this.layout(c).root, target: this.mountPoint(c) ?? undefined, options: ['rbind', c.record.readOnly ? 'ro' : 'rw'] }];
  }

  async mount(c: ContainerRef): Promise<string> {
    const target = this.mountPoint(c);
    if (!target || isMountPoint(target)) return this.path(c);
    if (!native.available() || process.geteuid?.() !== 0) {
      throw new UnsupportedError('a read-only copy container is a read-only bind mount, which needs the native addon and the privilege to mount');
    }
    await bindReadOnly(this.layout(c).root, target);
    return target;
  }

  async unmount(c: ContainerRef): Promise<void> {
    const target = this.mountPoint(c);
    if (target) await unmountTarget(target, { noLazy: true });
  }

  changes(c: ContainerRef, opts: ChangesOptions = {}): Promise<Change[]> {
    const l = this.layout(c);
    return snapshotChangesAsync(l.root, l.manifest, opts.lower ?? c.store.view(c.record.chain), { signal: opts.signal });
  }

  readTree(c: ContainerRef): TreeInput {
    return this.layout(c).root;
  }

  changesDir(c: ContainerRef): { dir: string; upper: boolean } {
    return { dir: this.layout(c).root, upper: false };
  }

  remove(c: ContainerRef, opts?: UnmountOptions): Promise<void> {
    return removeContainerDir(c, opts);
  }
}
