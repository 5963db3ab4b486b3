import * as fs from 'fs';
import * as path from 'path';
import * as native from '../../lib/native';
import { LayerStore } from '../../lib/layer-store';
import type { DriverName } from '../../lib/container/types';
import type { WhiteoutFormatName } from '../../lib/store/types';
import { layerTar, LayerSpec } from './layer-gen';
import { features } from './run-config';
import { readDirTree, SeenTree } from './tree-model';

/** Overlay whiteouts are 0/0 devices (root) with trusted xattrs, and overlay mounts need the addon: both as root. */
export const isRoot = process.getuid?.() === 0;
export const canOverlay = isRoot && native.addonStatus().available;
export const FORMATS: WhiteoutFormatName[] = canOverlay ? ['oci', 'overlay'] : ['oci'];
export const DRIVERS: DriverName[] = canOverlay ? ['overlay', 'copy'] : ['copy'];

export function overlaySkipNote(what: string): void {
  if (canOverlay) return;
  const why = isRoot ? `the native addon is unavailable (${native.addonStatus().reason}; build it with node native/build.js)` : 'they need root';
  console.warn(`${what}: the overlay whiteout format and real overlay mounts are skipped: ${why}`);
}

let counter = 0;

/** A fresh, empty directory for one case under `work`. */
export function caseDir(work: string): string {
  const d = path.join(work, `case${counter++}`);
  fs.mkdirSync(d);
  return d;
}

/** Unmounts what is mounted under `dir` (deepest first) and deletes it. */
export function removeCase(dir: string): void {
  if (native.available()) {
    for (let m = native.mountsUnder(dir)[0]; m; m = native.mountsUnder(dir)[0]) native.umount2Sync(m.mountPoint, native.constants.MNT_DETACH);
  }
  fs.rmSync(dir, { recursive: true, force: true });
}

/** The layers written as tars (by the test's own writer) into `dir`; returns their files, bottom first. */
export function writeLayerTars(dir: string, layers: LayerSpec[], opts: { globalPax?: boolean } = features): string[] {
  return layers.map((l, i) => {
    const f = path.join(dir, `layer${i}.tar`);
    fs.writeFileSync(f, layerTar(l, { globalPax: opts.globalPax }));
    return f;
  });
}

/** A fresh store of format `fmt` holding the chain of `tars`; returns it and each prefix's ChainID. */
export async function importStack(dir: string, fmt: WhiteoutFormatName, tars: string[]): Promise<{ store: LayerStore; chain: string[] }> {
  const store = await LayerStore.open(path.join(dir, `store-${fmt}`), { whiteout: fmt });
  const chain: string[] = [];
  let parent: string | null = null;
  for (const [i, t] of tars.entries()) {
    try {
      parent = (await store.importLayer(t, { parent })).chainId;
    } catch (e) {
      throw new Error(`${fmt} store: importing layer ${i} failed: ${(e as Error).message}`, { cause: e });
    }
    chain.push(parent);
  }
  return { store, chain };
}

/** The tree of a fresh container of `driver` on `chain`, read in full while mounted; the container is removed. */
export async function containerTree(store: LayerStore, chain: string | null, driver: DriverName): Promise<SeenTree> {
  const c = await store.createContainer(chain, { driver });
  try {
    return readDirTree(await c.mount());
  } finally {
    await c.remove();
  }
}
