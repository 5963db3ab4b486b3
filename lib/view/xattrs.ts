import * as native from '../native';
import { isOverlayXattr } from '../whiteout';
import { byteOrder, fsArg } from '../names';

/** Every xattr of `real` itself (never following a symlink) except overlay's own, sorted by name; {} without the addon. */
export function xattrsOf(path: string | Buffer): Record<string, Buffer> {
  const kept = native.readXattrsSync(fsArg(path)).filter(([name]) => !isOverlayXattr(name));
  return Object.fromEntries(kept.sort((a, b) => byteOrder(a[0], b[0])));
}

/** xattrsOf off the main thread (the addon's calls run on the libuv pool). */
export async function xattrsOfAsync(path: string | Buffer): Promise<Record<string, Buffer>> {
  const out: Record<string, Buffer> = {};
  if (!native.available()) return out;
  const real = fsArg(path);
  const names = (await native.llistxattr(real)).filter((n) => !isOverlayXattr(n)).sort(byteOrder);
  const values = await Promise.all(names.map((n) => native.lgetxattr(real, n)));
  names.forEach((n, i) => {
    const v = values[i];
    if (v !== null) out[n] = v;
  });
  return out;
}
