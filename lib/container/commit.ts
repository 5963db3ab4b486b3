import * as fs from 'fs';
import * as path from 'path';
import { NotFoundError } from '../errors';
import { WarmWorker } from '../workers';
import { COMMIT_WORKER } from './commit.protocol';
import type { PackProgressMessage } from '../tar/pack.protocol';
import { driverFor } from '../drivers';
import { newLayerRecord, noSpace, refOf } from '../store/store-core';
import type { LayerCore } from '../layers';
import type { PackResult } from '../tar/types';
import { CommitJobResult, CommitLayerJob, runCommitLayerJob } from './commit-job';
import { canFlip, flipCommit } from './commit-flip';
import { planPackEntriesSync } from './commit-entries';
import { withoutRuntimeEntries } from './runtime-entries';
import { withContainerLock } from './lock';
import type { Change, CommitOptions, ContainerRecord, LayerRef } from './types';

/** Up to this many entries and bytes, the layer directory is built on the calling thread. */
const INLINE_ENTRIES = 256;
const INLINE_BYTES = 4 << 20;

/** Tests only: runs between the diff and the building of the layer (a test changes the container there). */
export const commitTestHooks: { afterDiff?: (rec: ContainerRecord) => void | Promise<void> } = {};

/** The bench's clock: hears when each part of a commit starts and ends (process.hrtime.bigint()). */
export const commitPhases: { on?: (phase: CommitPhase, start: bigint, end: bigint) => void } = {};
export type CommitPhase = 'diff' | 'plan' | 'pack and layer directory' | 'publish' | 'unmount' | 'pack' | 'index' | 'flip' | 'remount';
async function timed<T>(phase: CommitPhase, p: () => Promise<T> | T): Promise<T> {
  if (!commitPhases.on) return p();
  const t0 = process.hrtime.bigint();
  try {
    return await p();
  } finally {
    commitPhases.on(phase, t0, process.hrtime.bigint());
  }
}

/**
 * A container's changes as a new layer on its chain, in one pass over the changed entries (the
 * commit worker, or inline for a tiny commit): the tarball is written as it is hashed
 * uncompressed (DiffID) and, when a compression is asked, compressed (digest). With none asked
 * the blob is the tar and the layer is deferred: an image export or push gzips it the first time
 * one needs it (LayerCore.exportedLayer), as buildah's local storage does. The layer's directory is written from the
 * very reads of the packer (lib/container/commit-layer-dir.ts): each changed file is opened and
 * read once, a large one cloned where the filesystem can; nothing written is read back or
 * extracted. Then blob and layer are published together. The same container state gives the
 * same bytes.
 *
 * The container is locked meanwhile (no second commit, no mount, unmount or remove of it), but
 * a process in it may go on changing its files: the pass reads it without following any
 * symlink, and a file must be the inode its lstat saw and unchanged once read (else
 * ChangedMeanwhileError, code LAYERFS_CHANGED_MEANWHILE, as for a directory swapped for a
 * symlink to a host path or another layer); the new layer is written the same way, so nothing
 * outside its staging directory is ever written.
 *
 * One ChainID, one layer: when the store holds the resulting layer already, the commit returns
 * that layer as the store has it (its own blob, digest and compression), never a blob that no
 * record references.
 *
 * `opts.changes`: the container's diff when the caller has it already.
 */
export async function commitContainer(store: LayerCore, container: ContainerRecord | { record: ContainerRecord }, opts: CommitOptions & { changes?: Change[] } = {}): Promise<LayerRef> {
  const rec = 'record' in container ? container.record : container;
  return withContainerLock(store.paths.container(rec.id), rec.id, () => {
    // removed while this commit waited for the lock
    if (!fs.existsSync(store.paths.containerRecord(rec.id))) throw new NotFoundError(rec.id, `no container ${rec.id} in the store`);
    return commitLocked(store, rec, opts);
  });
}

async function commitLocked(store: LayerCore, rec: ContainerRecord, opts: CommitOptions & { changes?: Change[] }): Promise<LayerRef> {
  if (canFlip(store, rec, opts)) {
    const staging = store.makeStaging('commit');
    try {
      const flipped = await flipCommit(store, rec, opts, { runJob: (job, changes, entries) => runJob(job, changes, entries, opts), runsInline: (changes, entries) => runsInline(changes, entries, opts), timed, afterDiff: () => commitTestHooks.afterDiff?.(rec) }, staging);
      if (flipped) return flipped.ref;
      // busy, or a runtime's entries: committed by copying, below (the container is as it was)
    } catch (e) {
      throw noSpace(e, `committing container ${rec.id}`);
    } finally {
      await store.discard(staging);
    }
  }
  const lower = store.view(rec.chain);
  const driver = driverFor(rec.driver);
  const ref = { store, record: rec };
  const home = driver.changesDir(ref);
  // the one path to a container's changes, as Container.diff reads them
  const changes = opts.changes ?? withoutRuntimeEntries(await timed('diff', () => driver.changes(ref, { lower, signal: opts.signal })), rec.runtimeEntries);
  // nothing changed since a flip commit made the container's chain: that layer
  if (!changes.length && rec.committed && rec.committed === rec.chain) return refOf(store.getLayerSync(rec.chain));
  const base = baseOf(changes) ?? home.dir;
  await commitTestHooks.afterDiff?.(rec);
  const what = `container ${rec.id}`;
  // no compression asked: the blob is the tar, compressed when an export or push first needs it
  const compression = opts.compression ?? 'none';

  const staging = store.makeStaging('commit');
  try {
    const blobTmp = path.join(staging, 'blob');
    // planning reads nothing but the chain, unless a recreated directory's contents must be listed: that goes to the worker
    const planHere = !changes.some((c) => c.opaque);
    const plan: CommitLayerJob['plan'] = planHere ? { entries: await timed('plan', () => planPackEntriesSync(changes, { base, lower, what })) } : { changes };
    const job: CommitLayerJob = {
      plan,
      base,
      baseIsUpper: home.upper && base === home.dir,
      lowerDirs: lower.layerDirs,
      whiteout: store.whiteout,
      diffDir: path.join(staging, 'diff'),
      manifestFile: path.join(staging, 'manifest.json'),
      blobFile: blobTmp,
      compression,
      sourceDateEpoch: opts.sourceDateEpoch,
      what,
    };
    const r = await timed('pack and layer directory', () => runJob(job, changes, 'entries' in plan ? plan.entries.length : Infinity, opts));
    const record = newLayerRecord(rec.chain, { ...r, compression }, store.whiteout);
    if (opts.compression === undefined) record.deferred = true;
    await opts.onBlob?.(blobTmp, { digest: record.digest, mediaType: record.mediaType, size: record.size });
    // the layer is there already: it is what this commit gives (its blob is the one its record
    // references; this commit's own blob would be referenced by nothing, and gc would delete it)
    if (store.hasLayer(record.chainId)) return refOf(store.getLayerSync(record.chainId));
    return await timed('publish', () => store.publishLayer(staging, blobTmp, record, opts.durable));
  } catch (e) {
    throw noSpace(e, `committing container ${rec.id}`);
  } finally {
    await store.discard(staging);
  }
}

/**
 * Runs a commit's job: here for a tiny one (a worker takes tens of milliseconds to start) or
 * when asked, else in the commit worker. The staging directory is removed only once the job has
 * ended: a failed or aborted worker is gone first.
 */
function runJob(job: CommitLayerJob, changes: Change[], entries: number, opts: CommitOptions): Promise<CommitJobResult> {
  const onMessage = (m: PackProgressMessage) => opts.onProgress?.({ bytes: m.bytes, entries: m.entries });
  return runsInline(changes, entries, opts) ? runCommitLayerJob(job, onMessage) : commitWorker.run(job, { signal: opts.signal, onMessage });
}

function runsInline(changes: Change[], entries: number, opts: CommitOptions): boolean {
  return !!opts.inline || (entries <= INLINE_ENTRIES && changes.reduce((n, c) => n + c.size, 0) <= INLINE_BYTES);
}

/** One warm commit worker for the process: its start and compile are a large part of a commit of a few thousand files. */
const commitWorker = new WarmWorker(COMMIT_WORKER);

/** The tree the changes were read from (an overlay diff may come from the merged tree): the part of a source before its path. */
function baseOf(changes: Change[]): string | undefined {
  for (const c of changes) {
    if (!c.source) continue;
    if (c.path === '/') return c.source;
    if (c.source.endsWith(c.path)) return c.source.slice(0, -c.path.length);
  }
  return undefined;
}
