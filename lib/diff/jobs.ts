import { UnionView } from '../view';
import type { WhiteoutFormatName } from '../types';
import type { Change, DiffTreesOptions, TreeInput, WireTree } from './types';
import { overlayChanges } from './overlay-changes';
import { snapshotChanges } from './stat-snapshot';
import { diffTrees } from './trees';

/** A diff to run in the worker thread (views travel as their layer directories). */
export type DiffJob =
  | { kind: 'overlay'; upperDir: string; lowerDirs: string[]; whiteout: WhiteoutFormatName; merged?: string }
  | { kind: 'manifest'; root: string; manifestFile: string; layerDirs: string[]; whiteout: WhiteoutFormatName }
  | { kind: 'trees'; a: WireTree; b: WireTree; opts: DiffTreesOptions };

export function toWire(t: TreeInput): WireTree {
  return typeof t === 'string' ? { dir: t } : { layerDirs: t.layerDirs, whiteout: t.whiteout };
}

function fromWire(t: WireTree): TreeInput {
  return 'dir' in t ? t.dir : new UnionView(t.layerDirs, t.whiteout);
}

export function runDiffJob(job: DiffJob): Change[] {
  switch (job.kind) {
    case 'overlay':
      return overlayChanges(job.upperDir, new UnionView(job.lowerDirs, job.whiteout), job.whiteout, { merged: job.merged });
    case 'manifest':
      return snapshotChanges(job.root, job.manifestFile, new UnionView(job.layerDirs, job.whiteout));
    case 'trees':
      return diffTrees(fromWire(job.a), fromWire(job.b), job.opts);
  }
}
