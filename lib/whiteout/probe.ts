import * as fs from 'fs';
import * as path from 'path';
import { randomHex } from '../digest/random';
import * as native from '../native';
import type { WhiteoutFormatName } from '../store/types';

/**
 * 'overlay' when this process can make a 0/0 character device and set a `trusted.*` xattr in
 * `tmpDir` (root, the addon, a filesystem with trusted xattrs), else 'oci'. Probes in a private
 * subdirectory, so processes sharing `tmpDir` do not collide; a missing `tmpDir` is an error.
 */
export function probeWhiteoutFormat(tmpDir: string): WhiteoutFormatName {
  if (!native.addonStatus().available) return 'oci';
  const dir = path.join(tmpDir, `.whiteout-probe-${process.pid}-${randomHex(4)}`);
  fs.mkdirSync(dir);
  try {
    const dev = path.join(dir, 'w');
    native.mknodSync(dev, fs.constants.S_IFCHR, 0, 0);
    const st = fs.lstatSync(dev);
    if (!st.isCharacterDevice() || st.rdev !== 0) return 'oci';
    native.lsetxattrSync(dir, 'trusted.overlay.opaque', Buffer.from('y'));
    return native.lgetxattrSync(dir, 'trusted.overlay.opaque')?.toString() === 'y' ? 'overlay' : 'oci';
  } catch {
    return 'oci'; // EPERM, ENOTSUP: this process or filesystem cannot hold overlay whiteouts
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
