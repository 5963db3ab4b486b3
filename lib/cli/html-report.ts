import { Readable } from 'stream';
import type { Change, TreeInput } from '../diff';
import type { EfficiencyReport } from '../image';
import type { LayerStore } from '../layer-store';
import type { Container } from '../container';
import { writeStreamAtomically } from './write-file';
import { lazy } from '../lazy';

const imageModule = lazy<typeof import('../image')>(() => require('../image'));
const reportModule = lazy<typeof import('../report')>(() => require('../report'));
const treeRefModule = lazy<typeof import('./tree-ref')>(() => require('./tree-ref'));
const diffModule = lazy<typeof import('../diff')>(() => require('../diff'));

/** A row of `layerfs layers`: the analysis' counts with the layer record's digests and sizes. */
export interface LayerRow {
  index: number;
  added: number;
  changed: number;
  deleted: number;
  fileBytes: number;
  diffId: string;
  digest: string;
  size: number;
  uncompressedSize: number;
}

type History = Array<{ created_by?: string; created?: string; empty_layer?: boolean }>;

/**
 * The history entries that made layers (empty_layer ones left out): from the record of the
 * imported image `ref`, else from the image at the path `ref` (imported with no record), else
 * from any imported image on `chain`.
 */
async function layerHistory(store: LayerStore, ref: string, chain: string): Promise<History> {
  const image = imageModule();
  let history: History | undefined = store.importedImage(ref)?.config.history;
  if (!history && image.looksLikeImage(ref)) {
    const img = await image.openImage(ref);
    try {
      history = img.config.history;
    } finally {
      await img.close();
    }
  }
  history ??= image.listImagesSync(store).find((r) => r.chain === chain)?.config.history;
  return (history ?? []).filter((h) => !h.empty_layer);
}

/**
 * `layers IMAGE --html FILE`: the page drawn from the same rows and analysis the command prints
 * (`rep` made with `entries`), and the commands from the image's history.
 */
export async function writeLayersHtml(store: LayerStore, file: string, ref: string, chain: string, rows: LayerRow[], rep: EfficiencyReport): Promise<void> {
  const { renderLayersReport } = reportModule();
  const history = await layerHistory(store, ref, chain);
  const html = renderLayersReport({
    title: ref,
    chainId: chain,
    layers: rows.map((r, i) => ({ ...r, ...(history.length === rows.length ? { command: history[i].created_by, created: history[i].created } : {}) })),
    efficiency: rep.efficiency,
    wastedBytes: rep.wastedBytes,
    sizeBytes: rep.sizeBytes,
    userSizeBytes: rep.userSizeBytes,
    wastedUserPercent: rep.wastedUserPercent,
    inefficiencies: rep.inefficiencies,
    entries: rep.entries,
  });
  await writeStreamAtomically(Readable.from([html]), file);
}

/** The two trees of a container's diff: its chain, and its tree now. */
export async function containerSides(store: LayerStore, c: Container): Promise<{ before: TreeInput; after: TreeInput }> {
  const { resolveTree } = treeRefModule();
  return { before: store.view(c.chain), after: (await resolveTree(store, c.id)).input };
}

/** `diff A B --html FILE`: the changes with the sizes before and the small text files' contents read from the two trees. */
export async function writeDiffHtml(file: string, changes: Change[], before: TreeInput | null, after: TreeInput, labels: { before: string; after: string }): Promise<void> {
  const { renderDiffReport } = reportModule();
  const { sizesBefore, textSides } = diffModule();
  const html = renderDiffReport(changes, { ...labels, sizesBefore: sizesBefore(before, changes), texts: textSides(before, after, changes) });
  await writeStreamAtomically(Readable.from([html]), file);
}
