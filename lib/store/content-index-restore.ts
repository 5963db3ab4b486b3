import * as fs from 'fs';
import * as path from 'path';
import * as native from '../native';
import { utimeSeconds } from '../native/times';
import { fsPath } from '../names';
import { contentIndexSync, lineDifferences, IndexLine } from './content-index';

/** To the nanosecond where the addon can (Node's lutimes keeps microseconds only). */
function setTimes(p: string | Buffer, ns: bigint): void {
  try {
    native.lutimensSync(p, ns, ns);
  } catch (e) {
    if ((e as { code?: string }).code !== 'LAYERFS_NO_ADDON') throw e;
    fs.lutimesSync(p, utimeSeconds(ns), utimeSeconds(ns));
  }
}

/**
 * Gives the paths of a freshly re-extracted layer directory the owner, mode, mtime and xattrs
 * its recorded manifest says, where the type and content agree. A re-extraction is exact for
 * what the tar says; what it does not say (the root and implicit parent directories with no
 * entry, whose times are "now") is taken from the record. Deepest paths first, times last, so
 * setting a child never moves a parent's mtime afterwards.
 */
export function restoreRecordedMetadata(dir: string, recorded: IndexLine[]): void {
  const now = new Map(contentIndexSync(dir).map((l) => [l[0], l]));
  const todo = recorded.filter((r) => r.length >= 10 && now.has(r[0]));
  todo.sort((a, b) => b[0].split('/').length - a[0].split('/').length);
  for (const want of todo) {
    const have = now.get(want[0])!;
    const d = lineDifferences(want, have);
    if (d.length === 0 || d.some((x) => x === 'content' || x.startsWith('type ') || x.startsWith('symlink target '))) continue;
    const real = want[0] === '/' ? dir : path.join(dir, want[0]);
    const p = fsPath(real);
    const link = want[1] === 'symlink';
    if (want[6] !== have[6] || want[7] !== have[7]) fs.lchownSync(p, want[6]!, want[7]!);
    // chmod after chown, which clears setuid and setgid; a symlink has no mode of its own
    if (!link) fs.chmodSync(p, want[2]);
    const wx = want[9];
    const hx = have[9];
    if (wx && hx && native.available()) {
      for (const n of Object.keys(hx)) if (!(n in wx)) native.lremovexattrSync(p, n);
      for (const [n, v] of Object.entries(wx)) if (hx[n] !== v) native.lsetxattrSync(p, n, Buffer.from(v, 'hex'));
    }
    const ns = BigInt(want[8]!);
    setTimes(p, ns);
  }
}
