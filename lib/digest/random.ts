import * as fs from 'fs';
import { lazy } from '../lazy';

const cryptoModule = lazy<typeof import('crypto')>(() => require('crypto'));

/**
 * Random hex for ids and staging names, read from the kernel's /dev/urandom: loading Node's
 * crypto module costs a short command (`layerfs mount`, `create`) a few milliseconds of its
 * start, and these need no more than the bytes. Elsewhere crypto.randomBytes gives them.
 */
export function randomHex(bytes: number): string {
  const buf = Buffer.allocUnsafe(bytes);
  let fd: number;
  try {
    fd = fs.openSync('/dev/urandom', 'r');
  } catch {
    return cryptoModule().randomBytes(bytes).toString('hex');
  }
  try {
    for (let got = 0; got < bytes; ) {
      const n = fs.readSync(fd, buf, got, bytes - got, null);
      if (n <= 0) throw new Error('/dev/urandom gave no bytes');
      got += n;
    }
  } finally {
    fs.closeSync(fd);
  }
  return buf.toString('hex');
}
