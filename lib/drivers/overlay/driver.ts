import * as fs from 'fs';
import { UnsupportedError } from '../../errors';
import type { Change } from '../../diff/types';
import type { TreeInput } from '../../diff/types';
import { UnionView } from '../../view';
import type { ChangesOptions, Driver, ContainerRef, MountSpec } from '../types';
import { containerLayout } from '../layout';
import { mountOverlay, MountApi, OVERLAY_SOURCE } from './mount';
import { bindReadOnly, isMountPoint, unmountTarget, verifyOverlay, UnmountOptions } from '../mounts';
import { overlayBlocker, probeOverlay, OVERLAY_PROBE_KEY, OverlayProbe } from './probe';
import { copyRootAttributes } from '../attributes';
import { removeContainerDir } from '../remove';
import { lazy } from '../../lazy';

const diffModule = lazy<typeof import('../../diff')>(() => require('../../diff'));

/** The options used when the store has no probe yet (mounts() for callers that mount themselves). */
const DEFAULT_OPTIONS = ['index=off', 'redirect_dir=off', 'metacopy=off'];

/**
 * Containers as kernel overlay mounts: the chain's layer directories are the lowers (top
 * first), the container's upper/ takes the writes, and upper/ is the container's diff.
 *
 * A container on no layers needs no overlay: its upper/ is its tree. A read-only view has no
 * upper: an overlay of lowers only, which overlayfs allows from two lowers up, or a read-only
 * bind mount of the one layer (or of the empty upper/ for no layer).
 */
export class OverlayDriver implements Driver {
  readonly name = 'overlay' as const;

  /** `api` forces the mount API (tests use it to run the mount(2) fallback on new kernels). */
  constructor(private readonly opts: { api?: MountApi } = {}) {}

  async prepare(c: ContainerRef, dir: string): Promise<void> {
    const blocker = overlayBlocker(c.store);
    if (blocker) throw new UnsupportedError(`the overlay driver cannot be used: ${blocker}`);
    const l = containerLayout(c.store.paths, c.record.id, dir);
    for (const d of [l.upper, l.work, l.merged]) fs.mkdirSync(d, { mode: 0o755 });
    // overlayfs shows the upper root's own attributes as the merged root's
    if (c.record.chain && !c.record.readOnly) copyRootAttributes(c.store.view(c.record.chain), l.upper);
  }

  /** Lower directories, top first. */
  private lowers(c: ContainerRef): string[] {
    return c.store.layerDirs(c.record.chain).reverse();
  }

  private layout(c: ContainerRef) {
    return containerLayout(c.store.paths, c.record.id);
  }

  path(c: ContainerRef): string {
    const l = this.layout(c);
    return this.mountPoint(c) ?? l.upper;
  }

  mountPoint(c: ContainerRef): string | null {
    return c.record.chain || c.record.readOnly ? this.layout(c).merged : null;
  }

  async mounts(c: ContainerRef): Promise<MountSpec[]> {
    const l = this.layout(c);
    const lowers = this.lowers(c);
    if (!this.mountPoint(c)) return [{ type: 'bind', source: l.upper, options: ['rbind', 'rw'] }];
    if (c.record.readOnly && lowers.length <= 1) return [{ type: 'bind', source: lowers[0] ?? l.upper, target: l.merged, options: ['rbind', 'ro'] }];
    // the options mount() would use: found by the probe (a userxattr mount refuses some of the defaults)
    const probe = overlayBlocker(c.store) ? (c.store.config.probes?.[OVERLAY_PROBE_KEY] as OverlayProbe | undefined) : await probeOverlay(c.store);
    const keep = probe?.mountable ? probe.options : DEFAULT_OPTIONS;
    const options = [...(c.store.whiteout === 'overlay-userxattr' ? ['userxattr'] : []), ...(c.record.readOnly ? [] : keep), `lowerdir=${lowers.join(':')}`];
    if (!c.record.readOnly) options.push(`upperdir=${l.upper}`, `workdir=${l.work}`);
    return [{ type: 'overlay', source: OVERLAY_SOURCE, target: l.merged, options }];
  }

  async mount(c: ContainerRef): Promise<string> {
    const target = this.mountPoint(c);
    if (!target) return this.path(c);
    if (isMountPoint(target)) return target;
    const l = this.layout(c);
    const lowers = this.lowers(c);
    if (c.record.readOnly && lowers.length <= 1) {
      await bindReadOnly(lowers[0] ?? l.upper, target);
      return target;
    }
    const probe = await probeOverlay(c.store);
    if (!probe.mountable) throw new UnsupportedError(probe.reason ?? 'overlayfs cannot be mounted here');
    const rw = !c.record.readOnly;
    // the options keep an upperdir a valid diff; with no upper there is nothing to keep
    const options: Array<[string, string | null]> = rw ? probe.options.map((o) => o.split('=') as [string, string]) : [];
    if (c.store.whiteout === 'overlay-userxattr') options.unshift(['userxattr', null]);
    const upper = await mountOverlay(target, { lowers, upper: rw ? l.upper : undefined, work: rw ? l.work : undefined, options, readOnly: !rw }, this.opts.api ?? probe.api ?? 'fsmount', () =>
      c.store.makeStaging('overlay-links'),
    );
    await verifyOverlay(target, { upper, lowers: lowers.length, off: options.filter(([, v]) => v === 'off').map(([k]) => k) });
    return target;
  }

  async unmount(c: ContainerRef): Promise<void> {
    const target = this.mountPoint(c);
    if (target) await unmountTarget(target, { noLazy: true });
  }

  changes(c: ContainerRef, opts: ChangesOptions = {}): Promise<Change[]> {
    // loaded on first use: a CLI create or mount never needs the diff code
    const { overlayChangesAsync } = diffModule();
    const l = this.layout(c);
    // merged: where redirect and metacopy entries of the upper are resolved while mounted
    return overlayChangesAsync(l.upper, opts.lower ?? c.store.view(c.record.chain), c.store.whiteout, { merged: l.merged, signal: opts.signal });
  }

  readTree(c: ContainerRef): TreeInput {
    // the merged tree without needing the mount: the chain with the upperdir on top
    return new UnionView([...c.store.layerDirs(c.record.chain), this.layout(c).upper], c.store.whiteout);
  }

  changesDir(c: ContainerRef): { dir: string; upper: boolean } {
    return { dir: this.layout(c).upper, upper: true };
  }

  remove(c: ContainerRef, opts?: UnmountOptions): Promise<void> {
    return removeContainerDir(c, opts);
  }
}
