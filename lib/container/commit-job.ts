import * as fs from 'fs';
import type { PackProgressMessage } from '../tar/pack.protocol';
import { createHash, hash, Hash } from 'crypto';
import { UnionView } from '../view';
import { whiteoutFormat } from '../whiteout';
import { writeContentIndexSync } from '../store/content-index';
import type { ReadEntry } from '../store/content-index';
import { nameOfBytes } from '../names';
import type { Change } from '../diff';
import type { Compression, WhiteoutFormatName } from '../types';
import type { PackEntry, PackResult } from '../tar/types';
import { createTarProducer } from '../tar/pack';
import type { ListedEntry, PackObserver } from '../tar/pack';
import { packWith } from '../tar/pack-run';
import { ROOT, planPackEntriesSync } from './commit-entries';
import { LayerDirBuilder } from './commit-layer-dir';
import { inheritedRootMeta, setLayerRootSync } from '../tar/layer-root';

export interface CommitLayerJob {
  /** the entries to build the layer from, or the changes to plan them from */
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
  /** the blob, written compressed as asked */
  blobFile: string;
  compression: Compression;
  sourceDateEpoch?: number;
  /** the container, as errors name it */
  what: string;
  /**
   * The upperdir becomes the layer's directory (lib/container/commit-flip.ts): the pass packs
   * and hashes, writes no directory; the content digests are returned by the source's inode
   * (a rename keeps them)
   */
  flip?: boolean;
  /**
   * A flip job run on the caller's thread: what the pack read of each entry is returned too (by
   * index path), so that the content index reads none of it again
   */
  keepRead?: boolean;
}

/** What a flip job gives besides the pack: each packed file's content digest, by its inode, and with keepRead what it read. */
export type CommitJobResult = PackResult & { known?: Array<[number, string]>; read?: Map<string, ReadEntry> };

/** Hears a pack's files and keeps their content digests by inode (a flip commit's content index takes them). */
class ContentHasher implements PackObserver {
  readonly known = new Map<number, string>();
  readonly read: Map<string, ReadEntry> | undefined;
  /** it hashes what is read and needs no descriptor: small files may be read in one call */
  readonly wantsDescriptor = false;
  private file: { ino: number; size: number; hash: Hash | null; digest: string | null } | null = null;
  constructor(keepRead: boolean) {
    if (keepRead) this.read = new Map();
  }
  entry(e: ListedEntry): void {
    if (e.kind !== 'entry') return;
    if (this.read && e.allXattrs && e.rel.length > 0) this.read.set('/' + nameOfBytes(e.rel), { st: e.st, xattrs: e.allXattrs, linkname: e.linkname });
    if (e.st.isFile()) this.file = { ino: Number(e.st.ino), size: Number(e.st.size), hash: null, digest: null };
  }
  fileOpen(): void {}
  content(chunk: Buffer): void {
    const f = this.file;
    if (!f) return;
    // most files come whole in one chunk: hashed at once, with no Hash object
    if (!f.hash && chunk.length === f.size) f.digest = hash('sha256', chunk, 'hex');
    else (f.hash ??= createHash('sha256')).update(chunk);
  }
  fileEnd(): void {
    const f = this.file!;
    this.file = null;
    this.known.set(f.ino, f.digest ?? (f.hash ?? createHash('sha256')).digest('hex'));
  }
}

/**
 * A commit's per-file work, in one pass: plans the entries if asked, then packs them into the
 * blob while the layer directory is built from the very reads of the pack (LayerDirBuilder),
 * and records the directory's manifest with the content digests the pass computed. Runs in the
 * commit worker (or inline for a tiny commit); `post` carries progress.
 */
export async function runCommitLayerJob(job: CommitLayerJob, post: (m: PackProgressMessage) => void): Promise<CommitJobResult> {
  let entries: PackEntry[];
  const lower = new UnionView(job.lowerDirs, job.whiteout);
  if ('entries' in job.plan) entries = job.plan.entries;
  else {
    const baseWhiteouts = job.baseIsUpper ? whiteoutFormat(job.whiteout) : undefined;
    entries = planPackEntriesSync(job.plan.changes, { base: job.base, lower, baseWhiteouts, what: job.what });
  }
  if (job.flip) {
    const hasher = new ContentHasher(!!job.keepRead);
    const producer = createTarProducer({ root: job.base, entries, confined: job.what }, { sourceDateEpoch: job.sourceDateEpoch }, hasher);
    const r = await packWith(producer, { opts: { sourceDateEpoch: job.sourceDateEpoch, compression: job.compression }, dest: job.blobFile }, post);
    return { ...r, known: [...hasher.known], read: hasher.read };
  }
  fs.mkdirSync(job.diffDir, { mode: 0o755 });
  const builder = new LayerDirBuilder(job.diffDir, job.whiteout, { from: job.base, what: job.what, sourceDateEpoch: job.sourceDateEpoch });
  let r: PackResult;
  try {
    const producer = createTarProducer({ root: job.base, entries, confined: job.what }, { sourceDateEpoch: job.sourceDateEpoch }, builder);
    r = await packWith(producer, { opts: { sourceDateEpoch: job.sourceDateEpoch, compression: job.compression }, dest: job.blobFile }, post);
    builder.finish();
  } finally {
    builder.close();
  }
  // the root takes the container root's attributes when the commit carries them, else what its
  // import will give it: the chain's root, or the default on no layers (lib/tar/layer-root.ts)
  if (!entries.some((e) => e.path === ROOT)) setLayerRootSync(job.diffDir, inheritedRootMeta(lower), process.geteuid?.() === 0);
  writeContentIndexSync(job.diffDir, job.manifestFile, builder.known);
  return r;
}
