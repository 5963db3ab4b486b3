import * as fs from 'fs';
import * as native from '../native';
import { setTimesSync } from '../native/times';
import { fsArg } from '../names';
import { UnionView, xattrsOf } from '../view';
import type { WhiteoutFormatName } from '../types';
import { fsyncDirSync } from '../store/records';

/** What a layer's root directory gets when its tar has no entry for it. */
export interface LayerRootMeta {
  mode: number;
  uid: number;
  gid: number;
  atimeNs: bigint;
  mtimeNs: bigint;
  xattrs: Record<string, Buffer>;
}

/**
 * The root of a layer with no `./` (or `/`) entry, with no lower chain: 0755, root:root, atime
 * and mtime 0 (the epoch). Never the process's umask, owner or clock: one blob, one tree.
 */
export const DEFAULT_LAYER_ROOT: Readonly<LayerRootMeta> = Object.freeze({ mode: 0o755, uid: 0, gid: 0, atimeNs: 0n, mtimeNs: 0n, xattrs: {} });

/**
 * The metadata a layer's root takes when its tar has no entry for it: the lower chain's root
 * (owner, mode, times and xattrs, as an overlay copy-up of the root would keep them), else
 * DEFAULT_LAYER_ROOT. A view or a mount of the chain then shows the same root whichever layer
 * is on top.
 */
export function inheritedRootMeta(lower: UnionView | null): LayerRootMeta {
  const below = lower?.lookupSync('/');
  if (!below || below.type !== 'dir') return DEFAULT_LAYER_ROOT;
  const st = fs.lstatSync(fsArg(below.realPath), { bigint: true });
  return { mode: Number(st.mode) & 0o7777, uid: Number(st.uid), gid: Number(st.gid), atimeNs: st.atimeNs, mtimeNs: st.mtimeNs, xattrs: xattrsOf(below.realPath) };
}

/** Gives directory `dir` the root metadata `m`: owner (when `owners`), xattrs, then mode and times. */
export function setLayerRootSync(dir: string | Buffer, m: LayerRootMeta, owners: boolean, warn: (msg: string) => void = () => {}): void {
  const p = fsArg(dir);
  if (owners) fs.lchownSync(p, m.uid, m.gid);
  for (const [name, value] of Object.entries(m.xattrs)) {
    try {
      native.lsetxattrSync(p, name, value);
    } catch {
      warn(`could not copy xattr ${name} of the lower chain's root to the layer's root`);
    }
  }
  fs.chmodSync(p, m.mode);
  setTimesSync(p, m.atimeNs, m.mtimeNs);
}

/**
 * The root step an apply worker left to its caller (it ended without waiting for the chain below,
 * which nothing else of the layer needed): the chain's root metadata, once the chain is written;
 * fsync'ed when durable. `dir` is the layer's own directory, made by the store, not by the tar.
 */
export function setLayerRootFromChainSync(dir: string, lowerDirs: string[], whiteout: WhiteoutFormatName, owners: boolean, durable: boolean, warn: (msg: string) => void): void {
  setLayerRootSync(dir, inheritedRootMeta(lowerDirs.length ? new UnionView(lowerDirs, whiteout) : null), owners, warn);
  if (durable) fsyncDirSync(dir);
}
