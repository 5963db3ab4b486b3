import * as fs from 'fs';
import * as path from 'path';
import { randomHex } from '../digest/random';
import * as native from '../native';
import type { WhiteoutFormatName } from '../types';

/**
 * With `userxattr` (a process in a user namespace, where trusted.* is out of reach and overlay
 * mounts take -o userxattr): 'overlay-userxattr' when it can make the 0/0 device and set
 * `user.overlay.opaque`. Else:
 * 'overlay' when this process can make a 0/0 character device and set a `trusted.*` xattr in
 * `tmpDir` (root, the addon, a filesystem with trusted xattrs), else 'oci'. Probes in a private
 * subdirectory, so processes sharing `tmpDir` do not collide; a missing `tmpDir` is an error.
 */
export function probeWhiteoutFormat(tmpDir: string, opts: { userxattr?: boolean } = {}): WhiteoutFormatName {
  if (!native.addonStatus().available) return 'oci';
  const dir = path.join(tmpDir, `.whiteout-probe-${process.pid}-${randomHex(4)}`);
  fs.mkdirSync(dir);
  try {
    const dev = path.join(dir, 'w');
    native.mknodSync(dev, fs.constants.S_IFCHR, 0, 0);
    const st = fs.lstatSync(dev);
    if (!st.isCharacterDevice() || st.rdev !== 0) return 'oci';
    const [name, format] = opts.userxattr ? ['user.overlay.opaque', 'overlay-userxattr' as const] : ['trusted.overlay.opaque', 'overlay' as const];
    native.lsetxattrSync(dir, name, Buffer.from('y'));
    return native.lgetxattrSync(dir, name)?.toString() === 'y' ? format : 'oci';
  } catch {
    return 'oci'; // EPERM, ENOTSUP: this process or filesystem cannot hold overlay whiteouts
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
