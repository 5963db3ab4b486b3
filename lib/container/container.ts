import type { LayerCore } from '../layers';
import { readJsonSync, writeJsonAtomicSync } from '../store/records';
import { NotFoundError } from '../errors';
import { driverFor } from '../drivers';
import type { Driver, ContainerRef } from '../drivers/types';
import { isMountPoint, UnmountOptions } from '../drivers/mounts';
import { withContainerLock } from './lock';
import type { Change, CommitOptions, ContainerRecord, DriverName, LayerRef, MountSpec } from './types';
import type { TreeInput } from '../diff/types';
import { withoutRuntimeEntries } from './runtime-entries';
import { releaseName } from './names';
import type { RunOptions } from './run';
import type { RunResult } from '../runtime/execute';
import { lazy } from '../lazy';

const runModule = lazy<typeof import('./run')>(() => require('./run'));
const commitModule = lazy<typeof import('./commit')>(() => require('./commit'));
const executeModule = lazy<typeof import('../runtime/execute')>(() => require('../runtime/execute'));

/**
 * A writable layer on top of a chain, realised by its driver. The record on disk is the truth:
 * every operation that changes the container rereads it under the container's lock, so many
 * processes can share one store.
 */
export class Container implements ContainerRef {
  private rec: ContainerRecord;

  constructor(readonly store: LayerCore, record: ContainerRecord) {
    this.rec = record;
  }

  get record(): ContainerRecord {
    return this.rec;
  }
  get id(): string {
    return this.rec.id;
  }
  get name(): string | undefined {
    return this.rec.name;
  }
  /** ChainID of the layer the container sits on, or null. */
  get chain(): string | null {
    return this.rec.chain;
  }
  get driver(): DriverName {
    return this.rec.driver;
  }
  get readOnly(): boolean {
    return !!this.rec.readOnly;
  }
  /** The recorded state; `isMounted()` asks the kernel. */
  get state(): ContainerRecord['state'] {
    return this.rec.state;
  }
  get created(): string {
    return this.rec.created;
  }

  private get impl(): Driver {
    return driverFor(this.rec.driver);
  }

  /** Where the container's tree is (while mounted, for drivers that mount). */
  get path(): string {
    return this.impl.path(this);
  }

  /** The directory a mount of the tree sits on, for drivers that mount (none for a writable copy). */
  get mountPoint(): string | undefined {
    return this.impl.mountPoint(this) || undefined;
  }

  /** Whether the tree is available now: its mount is in mountinfo, or it needs none and was mounted. */
  isMounted(): boolean {
    const mp = this.impl.mountPoint(this);
    return mp ? isMountPoint(mp) : this.rec.state === 'mounted';
  }

  /** Mounts the tree (nothing to do when it is mounted already) and returns its path. */
  mount(): Promise<string> {
    return this.locked(async () => {
      const p = await this.impl.mount(this);
      this.save('mounted');
      return p;
    });
  }

  /** Unmounts the tree (its changes stay). A busy mount stays mounted: BusyError. */
  unmount(): Promise<void> {
    return this.locked(async () => {
      await this.impl.unmount(this);
      this.save('unmounted');
    });
  }

  /** The mounts that make the tree, for callers that mount it themselves. */
  mounts(): Promise<MountSpec[]> {
    return this.impl.mounts(this);
  }

  /** What changed against the chain, sorted by path (what commit packs: both read the driver's changes). */
  async diff(opts: { signal?: AbortSignal } = {}): Promise<Change[]> {
    return withoutRuntimeEntries(await this.impl.changes(this, opts), this.rec.runtimeEntries);
  }

  /** The container's tree, readable mounted or not: a directory or a view of the chain with the container's writes on top. */
  readTree(): TreeInput {
    return this.impl.readTree(this);
  }

  /**
   * Runs a process in the container with an OCI runtime (runc by default) and resolves to its
   * exit code. `args` replaces the image's Cmd; see RunOptions for the rest.
   */
  run(args: string[] = [], opts: RunOptions = {}): Promise<RunResult> {
    const { runInContainer } = runModule();
    return runInContainer(this, args, opts);
  }

  /** The container's changes as a new layer on top of its chain. */
  commit(opts: CommitOptions = {}): Promise<LayerRef> {
    // loaded on first use: commit pulls in the packer and the diff code, which create and mount never need
    const { commitContainer } = commitModule();
    // a flip commit rebases the container onto its new layer: the record is read again
    return this.store.withLock('shared', () => commitContainer(this.store, this, opts)).then((r) => {
      this.refresh();
      return r;
    });
  }

  /**
   * Unmounts and deletes the container; nothing is left behind. A mount that stays busy is
   * detached lazily as the last resort (`onLazy` hears of it).
   */
  remove(opts: UnmountOptions = {}): Promise<void> {
    return this.store.withLock('shared', () =>
      this.locked(() => {
        // a process left running by a crashed `run` holds the mount: the runtime ends it first
        // the runtime's module (child_process) loads only for a container a killed run left behind
        if (this.rec.runtime) executeModule().deleteRuntimeContainer(this.rec.runtime.path, this.rec.runtime.id, this.rec.runtime.stateRoot);
        return this.impl.remove(this, opts).then(() => {
          // the claim goes after the container, so a claim whose container exists is never missing
          if (this.rec.name !== undefined) releaseName(this.store, this.rec.name, this.id);
        });
      }),
    );
  }

  /** @internal Changes the record under the container's lock (reread first: another process may have changed it). */
  update(change: (r: ContainerRecord) => ContainerRecord): Promise<void> {
    return this.locked(async () => {
      this.rec = change(this.rec);
      writeJsonAtomicSync(this.store.paths.containerRecord(this.id), this.rec);
    });
  }

  /** @internal Rereads the record (another process may have mounted, unmounted or removed the container). */
  refresh(): this {
    const r = readJsonSync<ContainerRecord>(this.store.paths.containerRecord(this.id));
    if (!r) throw new NotFoundError(this.id, `no container ${this.id} in the store`);
    this.rec = r;
    return this;
  }

  toJSON(): ContainerRecord & { path: string; mounted: boolean } {
    return { ...this.rec, path: this.path, mounted: this.isMounted() };
  }

  /** @internal Records a new state (the record is replaced atomically). */
  save(state: ContainerRecord['state']): void {
    if (this.rec.state === state) return;
    this.rec = { ...this.rec, state };
    writeJsonAtomicSync(this.store.paths.containerRecord(this.id), this.rec);
  }

  private locked<T>(fn: () => Promise<T>): Promise<T> {
    return withContainerLock(this.store.paths.container(this.id), this.id, () => {
      this.refresh();
      return fn();
    });
  }
}
