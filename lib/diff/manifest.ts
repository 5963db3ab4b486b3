import * as fs from 'fs';
import * as path from 'path';
import { UnionView } from '../view';
import type { Change } from './types';
import { byPath, changeOf, differences, joinPath } from './compare';

/**
 * The stat manifest of a materialised copy: one line per entry, taken right after the copy was
 * made, so a later diff can tell what changed from inode, size, mode, owner, mtime and ctime
 * (in ns) and link target alone, with no content reads.
 */
interface Rec {
  ino: bigint;
  size: bigint;
  mode: number;
  uid: number;
  gid: number;
  mtimeNs: bigint;
  ctimeNs: bigint;
  /** birth time: ext4 hands a freed inode number straight to the next new file, so identity is (inode, birth) */
  btimeNs: bigint;
  dir: boolean;
}

const FLUSH = 1 << 20;

export function writeManifestSync(root: string, manifestFile: string): void {
  const fd = fs.openSync(manifestFile, 'w', 0o644);
  let pending: string[] = [];
  let size = 0;
  const flush = () => {
    fs.writeSync(fd, pending.join(''));
    pending = [];
    size = 0;
  };
  const line = (p: string, st: fs.BigIntStats) => {
    const l = `${JSON.stringify(p)}\t${st.ino}\t${st.size}\t${st.mode}\t${st.uid}\t${st.gid}\t${st.mtimeNs}\t${st.ctimeNs}\t${st.birthtimeNs}\n`;
    pending.push(l);
    size += l.length;
    if (size > FLUSH) flush();
  };
  const walk = (real: string, p: string) => {
    for (const n of fs.readdirSync(real).sort()) {
      const r = path.join(real, n);
      const st = fs.lstatSync(r, { bigint: true });
      const q = joinPath(p, n);
      line(q, st);
      if (st.isDirectory()) walk(r, q);
    }
  };
  try {
    line('/', fs.lstatSync(root, { bigint: true }));
    walk(root, '/');
    flush();
  } finally {
    fs.closeSync(fd);
  }
}

function readManifest(file: string): Map<string, Rec> {
  const m = new Map<string, Rec>();
  for (const l of fs.readFileSync(file, 'utf8').split('\n')) {
    if (!l) continue;
    const [p, ino, size, mode, uid, gid, mtimeNs, ctimeNs, btimeNs] = l.split('\t');
    const md = Number(mode);
    m.set(JSON.parse(p), { ino: BigInt(ino), size: BigInt(size), mode: md, uid: Number(uid), gid: Number(gid), mtimeNs: BigInt(mtimeNs), ctimeNs: BigInt(ctimeNs), btimeNs: BigInt(btimeNs ?? 0), dir: (md & fs.constants.S_IFMT) === fs.constants.S_IFDIR });
  }
  return m;
}

/**
 * The changes of a copy container: its root against the manifest taken at materialisation.
 * An entry whose inode and ctime are unchanged is unchanged; otherwise its metadata is compared
 * with the chain's view (the original), and content only when size is equal and mtime differs.
 * A directory with a new inode was removed and recreated: it is reported as such, and the old
 * children it no longer has as deleted.
 */
export function manifestChanges(root: string, manifestFile: string, view: UnionView): Change[] {
  const before = readManifest(manifestFile);
  const out: Change[] = [];
  const deletedDirs: string[] = [];
  const walk = (real: string, p: string, parentNew: boolean) => {
    for (const n of fs.readdirSync(real)) {
      const r = path.join(real, n);
      const q = joinPath(p, n);
      const st = fs.lstatSync(r, { bigint: true });
      const rec = before.get(q);
      before.delete(q);
      const side = { real: r, st: fs.lstatSync(r) };
      if (!rec || parentNew) {
        const orig = rec ? view.lookupSync(q) : null;
        if (orig) {
          const what = differences({ real: orig.realPath, st: orig.stat }, side);
          if (what.length) out.push(changeOf('C', q, side, { what }));
        } else out.push(changeOf('A', q, side));
        if (st.isDirectory()) walk(r, q, !rec || parentNew);
        continue;
      }
      const recreated = rec.ino !== st.ino || rec.btimeNs !== st.birthtimeNs;
      if (rec.dir && !st.isDirectory()) deletedDirs.push(q); // its old children went with it
      if (!recreated && rec.ctimeNs === st.ctimeNs && rec.mtimeNs === st.mtimeNs && rec.size === st.size) {
        if (st.isDirectory()) walk(r, q, false);
        continue;
      }
      const orig = view.lookupSync(q);
      if (st.isDirectory() && rec.dir && recreated) {
        const what = orig ? differences({ real: orig.realPath, st: orig.stat }, side) : [];
        out.push(changeOf('C', q, side, { what: [...what, 'recreated'], opaque: true }));
        walk(r, q, true);
        continue;
      }
      if (orig) {
        const what = differences({ real: orig.realPath, st: orig.stat }, side);
        if (what.length) out.push(changeOf('C', q, side, { what }));
      } else out.push(changeOf('C', q, side, { what: ['content'] }));
      if (st.isDirectory()) walk(r, q, !rec.dir);
    }
  };
  before.delete('/');
  walk(root, '/', false);
  // what is left in the manifest is gone: report the topmost of each deleted subtree
  const gone = [...before.keys()].sort();
  for (const p of gone) {
    if (deletedDirs.some((d) => p.startsWith(d + '/'))) continue;
    const orig = view.lookupSync(p);
    const rec = before.get(p)!;
    if (rec.dir) deletedDirs.push(p);
    if (orig) out.push(changeOf('D', p, { real: orig.realPath, st: orig.stat }));
  }
  return out.sort(byPath);
}
