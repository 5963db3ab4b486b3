import * as fs from 'fs';
import * as path from 'path';
import { BusyError } from '../errors';
import { overlayChangesAsync } from '../diff/async';
import { driverFor } from '../drivers';
import { copyRootAttributes } from '../drivers/attributes';
import { isMountPoint } from '../drivers/mounts';
import { containerLayout } from '../drivers/layout';
import { newLayerRecord, refOf } from '../store/store-core';
import { readJsonSync, writeJsonAtomicSync } from '../store/records';
import { isStale, stagingName } from '../store/tmp';
import { DeferredContentIndex, writeContentIndexSync } from '../store/content-index';
import { inheritedRootMeta, setLayerRootSync } from '../tar/layer-root';
import type { LayerCore } from '../layers';
import type { CommitLayerJob, CommitJobResult } from './commit-job';
import { ROOT, planPackEntriesSync } from './commit-entries';
import { withoutRuntimeEntries } from './runtime-entries';
import type { Change, CommitOptions, ContainerRecord, LayerRef } from './types';

/** Up to this many entries, a flip commit reads the layer's content index while the pack runs. */
const DEFERRED_INDEX_ENTRIES = 100_000;

/** How the flip commit runs the pack (commit.ts's worker or inline choice, and its clock). */
export type RunJob = (job: CommitLayerJob, changes: Change[], entries: number) => Promise<CommitJobResult>;
/** Whether commit.ts runs such a job on this thread (then the index is made from what the pack read, after it). */
export type RunsInline = (changes: Change[], entries: number) => boolean;
export type Timed = <T>(phase: 'unmount' | 'diff' | 'plan' | 'pack' | 'index' | 'flip' | 'remount', p: () => Promise<T> | T) => Promise<T>;

/**
 * Whether a commit may take the container's upper directory as the new layer's directory (a
 * metadata flip, as containerd's snapshotter commits an active snapshot), before anything is
 * done: a default commit (no compression asked, so the layer keeps the tar it packs) of a
 * writable overlay container on a chain, in a store whose whiteouts are overlay's own (then the
 * upperdir is a layer's diff in the store's format: the mount options keep it one, no redirect,
 * no metacopy, no index), with no process run in it (no runtime, no runtime mountpoints).
 */
export function canFlip(store: LayerCore, rec: ContainerRecord, opts: CommitOptions & { changes?: Change[] }): boolean {
  if (opts.compression !== undefined || opts.changes || opts.onBlob) return false;
  if (rec.driver !== 'overlay' || rec.readOnly || !rec.chain || rec.runtime || rec.runtimeEntries?.length) return false;
  return store.whiteout === 'overlay' || store.whiteout === 'overlay-userxattr';
}

/**
 * The flip commit. The container is unmounted first (a busy mount: null, nothing changed, the
 * caller commits by copying); its changes are read from the upper directory alone, planned as
 * every commit plans them (`.wh.` names refused, runtime entries left out: either of those
 * found, null again), and packed into the layer's tar, hashed, with each file's content digest
 * kept; nothing of the container is written. Then the upper directory is renamed into the
 * layer (its content index from those digests), the layer published, and the container rebased
 * onto it: a fresh empty upper and work directory on the new chain, its record naming the new
 * chain and the layer as its last commit (a commit with no change since returns that layer),
 * mounted again if it was. The pack reads the container without following any symlink, as
 * every commit does; the rename moves the directory, never what is in it.
 *
 * Returns null (nothing changed, the container mounted as it was) when the flip does not apply.
 */
export async function flipCommit(store: LayerCore, rec: ContainerRecord, opts: CommitOptions, how: { runJob: RunJob; runsInline: RunsInline; timed: Timed; afterDiff: () => void | Promise<void> }, staging: string): Promise<{ ref: LayerRef; record: ContainerRecord } | null> {
  const { runJob, timed } = how;
  const driver = driverFor('overlay');
  const l = containerLayout(store.paths, rec.id);
  const mounted = isMountPoint(l.merged);
  // the unmount runs on a pool thread: unmounting overlayfs syncs its upper filesystem (the
  // writeback of the change just made), which goes on while the changes are read and packed;
  // the mount is gone from the tree first, so nothing writes to the upper once that is seen
  const unmounting = mounted ? timed('unmount', () => driver.unmount({ store, record: rec })) : null;
  unmounting?.catch(() => {}); // observed below
  if (unmounting && (await detached(l.merged, unmounting)) === 'busy') return null;
  let current = rec;
  try {
    const lower = store.view(rec.chain);
    // the upper alone (the mount is going): its options keep it free of redirects and metacopy
    const all = await timed('diff', () => overlayChangesAsync(l.upper, lower, store.whiteout, { signal: opts.signal }));
    const changes = withoutRuntimeEntries(all, rec.runtimeEntries);
    if (changes.length !== all.length) return null;
    if (!changes.length && rec.committed === rec.chain) return { ref: refOf(store.getLayerSync(rec.chain!)), record: rec };
    await how.afterDiff();
    const what = `container ${rec.id}`;
    const planHere = !changes.some((c) => c.opaque);
    const plan: CommitLayerJob['plan'] = planHere ? { entries: await timed('plan', () => planPackEntriesSync(changes, { base: l.upper, lower, what })) } : { changes };
    const blobFile = path.join(staging, 'blob');
    const job: CommitLayerJob = {
      plan,
      base: l.upper,
      baseIsUpper: true,
      lowerDirs: lower.layerDirs,
      whiteout: store.whiteout,
      diffDir: path.join(staging, 'diff'),
      manifestFile: path.join(staging, 'manifest.json'),
      blobFile,
      compression: 'none',
      sourceDateEpoch: opts.sourceDateEpoch,
      what,
      flip: true,
    };
    const entries = 'entries' in plan ? plan.entries.length : Infinity;
    // on this thread, the pack hands what it read of each entry to the index, walked after it
    const inline = how.runsInline(changes, entries);
    if (inline) job.keepRead = true;
    const packing = timed('pack', () => runJob(job, changes, entries));
    packing.catch(() => {}); // observed below
    // in a worker, the layer's content index is read meanwhile, but for the digests the pack computes (held in
    // memory until then: a commit of very many entries walks it after the pack, as it is written)
    let index: DeferredContentIndex | null = null;
    try {
      if (!inline && entries <= DEFERRED_INDEX_ENTRIES) index = await timed('index', () => new DeferredContentIndex(l.upper).walk());
    } catch (e) {
      await packing.catch(() => {}); // the staging is removed only once the job has ended
      throw e;
    }
    const r = await packing;
    if (r.read) index = await timed('index', () => new DeferredContentIndex(l.upper).walk(r.read));
    const record = newLayerRecord(rec.chain, { ...r, compression: 'none' }, store.whiteout);
    record.deferred = true;
    // the upper moves only once the old mount is wholly gone
    if (unmounting) await unmounting;
    // from here the container's changes move: a crash before the rebase is written leaves this
    // note in tmp/, and the next open puts them back or finishes the rebase (recoverFlips)
    const intent = writeFlipIntent(store, { container: rec.id, from: rec.chain!, chain: record.chainId, staging });
    const ref = await timed('flip', async () => {
      if (store.hasLayer(record.chainId)) {
        // the same changes on the same chain: the store's layer is this one; the upper goes
        await store.discard(l.upper);
        return refOf(store.getLayerSync(record.chainId));
      }
      // the root takes the chain's attributes unless the commit carries the container root's (as every commit does)
      const hasRoot = 'entries' in plan ? plan.entries.some((e) => e.path === ROOT) : changes.some((c) => c.path === '/');
      if (!hasRoot) setLayerRootSync(l.upper, inheritedRootMeta(lower), process.geteuid?.() === 0);
      if (index) index.write(job.manifestFile, new Map(r.known ?? []));
      else writeContentIndexSync(l.upper, job.manifestFile, new Map(r.known ?? []));
      fs.renameSync(l.upper, job.diffDir);
      try {
        return await store.publishLayer(staging, blobFile, record, opts.durable);
      } catch (e) {
        // not published (no space, say): the changes go back to the container before the staging is discarded
        if (!store.hasLayer(record.chainId) && !fs.existsSync(l.upper)) fs.renameSync(job.diffDir, l.upper);
        fs.rmSync(intent, { force: true });
        throw e;
      }
    });
    current = rebase(store, rec, ref.chainId);
    fs.rmSync(intent, { force: true });
    return { ref, record: current };
  } finally {
    if (mounted) {
      await unmounting!.catch(() => {});
      await timed('remount', () => driver.mount({ store, record: current }));
    }
  }
}

/**
 * Resolves once `target` is no longer in the mount tree ('gone': nothing can write through it
 * any more, while the unmount may still be syncing), or the unmount ended ('busy' when it was
 * refused as busy; another error is thrown).
 */
async function detached(target: string, unmounting: Promise<void>): Promise<'gone' | 'busy'> {
  let ended: { error?: unknown } | null = null;
  unmounting.then(
    () => (ended = {}),
    (error) => (ended = { error }),
  );
  for (;;) {
    const e = ended as { error?: unknown } | null;
    if (e) {
      if (e.error instanceof BusyError) return 'busy';
      if (e.error) throw e.error;
      return 'gone';
    }
    if (!isMountPoint(target)) return 'gone';
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

/** What a flip in progress has moved, kept in tmp/ until the container's rebase is written. */
interface FlipIntent {
  container: string;
  from: string;
  chain: string;
  staging: string;
}

function writeFlipIntent(store: LayerCore, intent: FlipIntent): string {
  const file = path.join(store.paths.tmpDir, stagingName('flip') + '.json');
  writeJsonAtomicSync(file, intent);
  return file;
}

/** The container on the layer its changes became: an empty upper on the new chain, a fresh work directory, its record saying so. */
function rebase(store: LayerCore, rec: ContainerRecord, chain: string): ContainerRecord {
  const l = containerLayout(store.paths, rec.id);
  if (!fs.existsSync(l.upper)) fs.mkdirSync(l.upper, { mode: 0o755 });
  copyRootAttributes(store.view(chain), l.upper);
  fs.rmSync(l.work, { recursive: true, force: true });
  fs.mkdirSync(l.work, { mode: 0o755 });
  const current = { ...rec, chain, committed: chain };
  writeJsonAtomicSync(store.paths.containerRecord(rec.id), current);
  return current;
}

/**
 * After a crash, before stale staging is removed: each flip a dead process left unfinished is
 * brought to one end. Its layer published: the container is rebased onto it (its changes are
 * that layer). Not published: the upper directory, moved into the staging, goes back to the
 * container. Either way nothing of the container's changes is lost.
 */
export function recoverFlips(store: LayerCore): void {
  for (const n of fs.readdirSync(store.paths.tmpDir)) {
    if (!/\.flip-[0-9a-f]+\.json$/.test(n) || !isStale(n)) continue;
    const file = path.join(store.paths.tmpDir, n);
    const intent = readJsonSync<FlipIntent>(file);
    const rec = intent ? readJsonSync<ContainerRecord>(store.paths.containerRecord(intent.container)) : null;
    if (intent && rec && rec.chain === intent.from) {
      const l = containerLayout(store.paths, rec.id);
      if (store.hasLayer(intent.chain)) rebase(store, rec, intent.chain);
      else if (!fs.existsSync(l.upper) && fs.existsSync(path.join(intent.staging, 'diff'))) fs.renameSync(path.join(intent.staging, 'diff'), l.upper);
    }
    fs.rmSync(file, { force: true });
  }
}
