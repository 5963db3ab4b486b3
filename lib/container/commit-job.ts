import * as fs from 'fs';
import { UnionView } from '../view';
import { whiteoutFormat } from '../whiteout';
import { writeLayerManifestSync } from '../store/layer-manifest';
import type { Change } from '../diff';
import type { WhiteoutFormatName } from '../store/types';
import type { PackEntry } from '../tar/types';
import { ROOT, planPackEntriesSync } from './commit-entries';
import { buildLayerDirSync } from './commit-layer-dir';
import { inheritedRootMeta, setLayerRootSync } from '../tar/layer-root';

export interface CommitLayerJob {
  /** the entries to build the layer from, or the changes to plan them from (then posted back as `entries`) */
  plan: { entries: PackEntry[] } | { changes: Change[] };
  /** where the changes' sources are: the upperdir, the copy root, or the merged tree */
  base: string;
  /** `base` is an overlay upperdir (its whiteouts are not content) */
  baseIsUpper: boolean;
  lowerDirs: string[];
  /** the store's whiteout format */
  whiteout: WhiteoutFormatName;
  diffDir: string;
  /** the layer's manifest (what fsck holds the unpacked layer against) */
  manifestFile: string;
  sourceDateEpoch?: number;
  /** the container, as errors name it */
  what: string;
}

/**
 * A commit's per-file work: plans the entries if asked and posts them (the pack starts on them
 * at once, in its own worker), then builds the layer directory from them and records its
 * manifest. Synchronous: it runs in the commit worker (or inline for a tiny commit).
 */
export function runCommitLayerJobSync(job: CommitLayerJob, post: (m: Record<string, unknown>) => void): { entries: number; observed: string } {
  let entries: PackEntry[];
  const lower = new UnionView(job.lowerDirs, job.whiteout);
  if ('entries' in job.plan) entries = job.plan.entries;
  else {
    const baseWhiteouts = job.baseIsUpper ? whiteoutFormat(job.whiteout) : undefined;
    entries = planPackEntriesSync(job.plan.changes, { base: job.base, lower, baseWhiteouts, what: job.what });
    post({ type: 'entries', entries });
  }
  fs.mkdirSync(job.diffDir, { mode: 0o755 });
  const { observed } = buildLayerDirSync(entries, job.diffDir, job.whiteout, { from: job.base, what: job.what, sourceDateEpoch: job.sourceDateEpoch });
  // the root takes the container root's attributes when the commit carries them, else what its
  // import will give it: the chain's root, or the default on no layers (lib/tar/layer-root.ts)
  if (!entries.some((e) => e.path === ROOT)) setLayerRootSync(job.diffDir, inheritedRootMeta(lower), process.geteuid?.() === 0);
  writeLayerManifestSync(job.diffDir, job.manifestFile);
  return { entries: entries.length, observed };
}

