import { AbortedError } from '../errors';
import { runWorker } from '../workers';
import type { UnionView } from '../view';
import type { WhiteoutFormatName } from '../types';
import type { AsyncDiffOptions, Change, DiffTreesOptions, TreeInput } from './types';
import { OverBudgetError, overlayChanges } from './overlay-changes';
import { DiffJob, toWire } from './jobs';
import { DIFF_WORKER } from './diff.protocol';

/**
 * Upperdir entries walked on the calling thread before the walk moves to a worker: starting a
 * worker costs tens of milliseconds (30-60 ms, most of a diff of a few thousand changes), and a
 * walk costs a few ms per thousand entries. So up to 10,000 entries (a few tens of ms of event
 * loop) stay here; past that the walk restarts in a worker, and the part already walked is lost.
 */
const INLINE_BUDGET = 10000;
/** Bytes of contents compared on the calling thread before the walk moves to a worker. */
const INLINE_READ_BUDGET = 8 << 20;

function inWorker(job: DiffJob, opts: AsyncDiffOptions): Promise<Change[]> {
  return runWorker(DIFF_WORKER, job, { signal: opts.signal });
}

/** overlayChanges without blocking the event loop for long: small changes inline, larger ones in a worker thread. */
export async function overlayChangesAsync(upperDir: string, lowerView: UnionView, whiteout: WhiteoutFormatName, opts: AsyncDiffOptions & { merged?: string } = {}): Promise<Change[]> {
  if (opts.signal?.aborted) throw new AbortedError();
  try {
    return overlayChanges(upperDir, lowerView, whiteout, { merged: opts.merged, budget: INLINE_BUDGET, readBudget: INLINE_READ_BUDGET });
  } catch (e) {
    if (!(e instanceof OverBudgetError)) throw e;
  }
  return inWorker({ kind: 'overlay', upperDir, lowerDirs: lowerView.layerDirs, whiteout, merged: opts.merged }, opts);
}

/** snapshotChanges in a worker thread (it walks the whole copy). */
export function snapshotChangesAsync(root: string, manifestFile: string, view: UnionView, opts: AsyncDiffOptions = {}): Promise<Change[]> {
  return inWorker({ kind: 'manifest', root, manifestFile, layerDirs: view.layerDirs, whiteout: view.whiteout }, opts);
}

/** diffTrees in a worker thread. */
export function diffTreesAsync(a: TreeInput, b: TreeInput, opts: DiffTreesOptions & AsyncDiffOptions = {}): Promise<Change[]> {
  const { signal, ...treeOpts } = opts;
  return inWorker({ kind: 'trees', a: toWire(a), b: toWire(b), opts: treeOpts }, { signal });
}
