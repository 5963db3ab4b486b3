import * as fs from 'fs';
import * as path from 'path';
import { UnionView } from '../view';
import { applyLayer } from '../tar/apply-in-worker';
import { isDigest } from '../digest';
import { NotFoundError } from '../errors';
import type { TreeInput } from '../diff';
import type { LayerStore } from '../layer-store';
import { UsageError } from './usage';
import { resolveRef } from './refs';
import { imageChain } from './image-ref';

export interface ResolvedTree {
  input: TreeInput;
  kind: 'directory' | 'layer tarball' | 'chain' | 'container' | 'image';
  cleanup(): Promise<void>;
}

const none = async () => undefined;

/**
 * What `layerfs diff X Y` accepts for X and Y: a directory, a layer tarball, a ChainID in the
 * store, a container (id, name or prefix), or an image (a layout or archive path, or the name
 * of an imported image).
 */
export async function resolveTree(store: LayerStore, ref: string, extra: Array<(s: LayerStore, r: string) => Promise<ResolvedTree | null>> = []): Promise<ResolvedTree> {
  for (const try1 of extra) {
    const r = await try1(store, ref);
    if (r) return r;
  }
  if (isDigest(ref) || /^[a-f0-9]{64}$/.test(ref)) {
    const id = ref.startsWith('sha256:') ? ref : 'sha256:' + ref;
    if (store.hasLayer(id)) return { input: store.view(id), kind: 'chain', cleanup: none };
  }
  if (fs.existsSync(ref)) {
    const st = fs.statSync(ref);
    if (st.isDirectory()) return { input: path.resolve(ref), kind: 'directory', cleanup: none };
    const staging = store.makeStaging('diff');
    const dir = path.join(staging, 'layer');
    fs.mkdirSync(dir);
    try {
      await applyLayer(ref, dir, { whiteout: store.whiteout, applyOwners: store.applyOwners, limits: store.tarLimits() });
    } catch (e) {
      await store.discard(staging);
      throw e;
    }
    return { input: new UnionView([dir], store.whiteout), kind: 'layer tarball', cleanup: () => store.discard(staging) };
  }
  try {
    // a ChainID prefix, a container's id, name or prefix: the CLI's one resolver (an ambiguous prefix is an error)
    const r = await resolveRef(store, ref, { chain: true, container: true });
    if (r.kind === 'container') return { input: r.container.readTree(), kind: 'container', cleanup: none };
    if (r.kind === 'chain') return { input: store.view(r.chain), kind: 'chain', cleanup: none };
  } catch (e) {
    if (!(e instanceof NotFoundError)) throw e;
  }
  throw new UsageError(`${JSON.stringify(ref)} is not a directory, a layer tarball, a ChainID in the store, a container or an image`);
}

/** Image arguments for `diff`: the flattened image. */
export const imageTreeResolvers: Array<(s: LayerStore, r: string) => Promise<ResolvedTree | null>> = [
  async (store, ref) => {
    const chain = await imageChain(store, ref);
    if (chain === null) return null;
    return { input: new UnionView(store.layerDirs(chain), store.whiteout), kind: 'image', cleanup: async () => undefined };
  },
];
