/**
 * What the reports are drawn from. The shapes are those that lib/image's analyzeLayers and
 * lib/diff's change sets already produce, declared here so that rendering depends on nothing
 * but its data. A path may be a string (invalid UTF-8 bytes as lone surrogates U+DC80..U+DCFF)
 * or the raw bytes.
 */
export type ReportPath = string | Uint8Array;

export type ReportEntryType = 'file' | 'dir' | 'symlink' | 'char' | 'block' | 'fifo' | 'socket';

/** One entry of one layer: 'A' added, 'C' changed, 'D' deleted, '' a directory the layer only passes through. */
export interface ReportLayerEntry {
  path: ReportPath;
  kind: 'A' | 'C' | 'D' | '';
  type: ReportEntryType;
  /** bytes of a regular file in this layer; for 'D', the bytes deleted */
  size: number;
  opaque?: boolean;
}

export interface ReportLayer {
  index: number;
  diffId: string;
  /** the blob's digest and size (compressed or not, as stored) */
  digest?: string;
  size?: number;
  /** bytes of the uncompressed tar */
  uncompressedSize?: number;
  added: number;
  changed: number;
  deleted: number;
  /** sum of the sizes of the regular files this layer holds */
  fileBytes: number;
  /** the history's created_by for this layer */
  command?: string;
  created?: string;
}

export interface ReportInefficiency {
  path: ReportPath;
  count: number;
  cumulativeSize: number;
}

/** `layerfs layers` as data: the rows and the analysis (lib/image EfficiencyReport) of one chain. */
export interface LayersReportData {
  /** what the report is about: an image name, a path, a ChainID */
  title: string;
  chainId?: string;
  layers: ReportLayer[];
  efficiency: number;
  wastedBytes: number;
  sizeBytes: number;
  userSizeBytes: number;
  wastedUserPercent: number;
  /** largest first, all of them (the page caps what it embeds) */
  inefficiencies: ReportInefficiency[];
  /** each layer's entries, bottom first; without them the page shows no trees */
  entries?: ReportLayerEntry[][];
}

export interface LayersReportOptions {
  /** entries embedded per layer (the shallowest first); default 60,000 */
  maxEntriesPerLayer?: number;
  /** rows of the wasted-space table; default 1,000 */
  maxInefficiencies?: number;
}

/** A diff change (lib/diff Change), with what the report adds: the size before, when it was looked up. */
export interface ReportChange {
  kind: 'A' | 'C' | 'D';
  path: ReportPath;
  type: ReportEntryType;
  /** after the change (before it, for 'D') */
  size: number;
  mode?: number;
  uid?: number;
  gid?: number;
  mtime?: number;
  target?: string;
  what?: string[];
  opaque?: boolean;
}

/** The two sides of a changed small text file, for a content diff. */
export interface TextPair {
  before: string;
  after: string;
}

export interface DiffReportOptions {
  title?: string;
  /** names of the two trees */
  before?: string;
  after?: string;
  /** what each changed path held before (by path as the change gives it): a changed file's size, the bytes under a deleted directory (a deleted file's size is in its change) */
  sizesBefore?: Map<string, number>;
  /** small text files whose two sides are given: a bounded line diff of each is shown */
  texts?: Map<string, TextPair>;
  /** entries embedded; default 200,000 */
  maxEntries?: number;
  /** lines of one content diff; default 200 */
  maxDiffLines?: number;
}
