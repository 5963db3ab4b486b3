import * as native from '../native';
import { isOverlayXattr } from '../whiteout';
import { byteOrder, fsArg } from '../names';

/** Every xattr of `real` itself (never following a symlink) except overlay's own, sorted by name; {} without the addon. */
export function xattrsOf(path: string | Buffer): Record<string, Buffer> {
  const out: Record<string, Buffer> = {};
  if (!native.available()) return out;
  const real = fsArg(path);
  for (const name of native.llistxattrSync(real).sort(byteOrder)) {
    if (isOverlayXattr(name)) continue;
    const v = native.lgetxattrSync(real, name);
    if (v !== null) out[name] = v;
  }
  return out;
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
