import * as fs from 'fs';
import { isUtf8 } from 'buffer';
import { execFileSync } from 'child_process';
import fc from 'fast-check';
import * as native from '../../lib/native';
import { CONTENTS, contentBytes, pathBytes } from './layer-gen';
import { nameOf } from './tree-model';

/**
 * Random edits of a mounted container, as a user or a build step makes them. An edit names its
 * paths by index into what the tree holds when it runs (`pick`), so most edits apply whatever
 * the base; one that does not fit (no file to append to, a rename into its own subtree) is
 * skipped, and the list of what was done is returned for the failure message.
 */

export type Mutation =
  | { m: 'write'; dir: number; name: string; content: string }
  | { m: 'append'; pick: number; content: string }
  | { m: 'truncate'; pick: number; size: number }
  /** new bytes of the same size, then the old atime and mtime put back (cp -p, tar -x, rsync -a) */
  | { m: 'same-size'; pick: number }
  | { m: 'rename-over'; pick: number; dir: number; name: string }
  | { m: 'chmod'; pick: number; mode: number }
  | { m: 'chown'; pick: number; uid: number; gid: number }
  | { m: 'setxattr'; pick: number; name: string; value: string }
  | { m: 'retarget'; pick: number; target: string }
  | { m: 'mkdir'; dir: number; name: string }
  | { m: 'rm'; pick: number }
  | { m: 'rm-r'; pick: number }
  /** a directory removed with all it holds and made again with one new child */
  | { m: 'recreate'; pick: number; child: string }
  | { m: 'hardlink'; pick: number; dir: number; name: string }
  | { m: 'root-meta'; mode: number; xattr: string };

export interface MutationOptions {
  sameSizeMtime: boolean;
  /** new names with a byte that is not UTF-8 (0xff, written U+00FF as in layer-gen) */
  nonUtf8: boolean;
  whiteoutNames: boolean;
  rootChange: boolean;
}

const NEW_NAMES = ['a', 'b', 'n', 'm'];

export function mutationArb(opts: MutationOptions): fc.Arbitrary<Mutation> {
  const pick = fc.nat(50);
  const names = [...NEW_NAMES, ...(opts.nonUtf8 ? ['a\u00ff'] : []), ...(opts.whiteoutNames ? ['.wh.a', '.wh..wh..opq'] : [])];
  const name = fc.constantFrom(...names);
  const content = fc.constantFrom(...CONTENTS);
  const arbs: Array<fc.Arbitrary<Mutation>> = [
    fc.record({ m: fc.constant('write' as const), dir: pick, name, content }),
    fc.record({ m: fc.constant('append' as const), pick, content: fc.constantFrom('A', 'zz') }),
    fc.record({ m: fc.constant('truncate' as const), pick, size: fc.constantFrom(0, 1, 3) }),
    fc.record({ m: fc.constant('rename-over' as const), pick, dir: pick, name }),
    fc.record({ m: fc.constant('chmod' as const), pick, mode: fc.constantFrom(0o600, 0o755, 0o4755, 0o1777) }),
    fc.record({ m: fc.constant('chown' as const), pick, uid: fc.constantFrom(0, 7), gid: fc.constantFrom(0, 8) }),
    fc.record({ m: fc.constant('setxattr' as const), pick, name: fc.constantFrom('user.a', 'user.c'), value: fc.constantFrom('1', 'new') }),
    fc.record({ m: fc.constant('retarget' as const), pick, target: fc.constantFrom('a', 'elsewhere', '/etc') }),
    fc.record({ m: fc.constant('mkdir' as const), dir: pick, name }),
    fc.record({ m: fc.constant('rm' as const), pick }),
    fc.record({ m: fc.constant('rm-r' as const), pick }),
    fc.record({ m: fc.constant('recreate' as const), pick, child: fc.constantFrom('a', 'n') }),
    fc.record({ m: fc.constant('hardlink' as const), pick, dir: pick, name }),
  ];
  if (opts.sameSizeMtime) arbs.push(fc.record({ m: fc.constant('same-size' as const), pick }));
  if (opts.rootChange) arbs.push(fc.record({ m: fc.constant('root-meta' as const), mode: fc.constantFrom(0o700, 0o755), xattr: fc.constantFrom('1', '2') }));
  return fc.oneof(...arbs);
}

type Kind = 'file' | 'dir' | 'symlink';

/** The tree's paths ('' for the root, 'a/b' below it) by kind, sorted; names read as bytes (nameOf). */
function listing(root: string): Record<Kind, string[]> {
  const out: Record<Kind, string[]> = { file: [], dir: [''], symlink: [] };
  const walk = (rel: string) => {
    for (const n of fs.readdirSync(bytesAt(root, rel), { encoding: 'buffer' }).map(nameOf).sort()) {
      const r = rel ? `${rel}/${n}` : n;
      const st = fs.lstatSync(bytesAt(root, r), { throwIfNoEntry: false });
      if (!st) continue;
      if (st.isDirectory()) {
        out.dir.push(r);
        walk(r);
      } else if (st.isSymbolicLink()) out.symlink.push(r);
      else if (st.isFile()) out.file.push(r);
    }
  };
  walk('');
  return out;
}

/** The bytes of `rel` (a path of the listing) under `root`. */
const bytesAt = (root: string, rel: string): Buffer => (rel ? Buffer.concat([Buffer.from(root + '/'), pathBytes(rel)]) : Buffer.from(root));

const choose = (list: string[], i: number): string | undefined => (list.length ? list[i % list.length] : undefined);

/**
 * `mv`: rename, or (EXDEV: overlayfs without redirect_dir, for a lower directory) copy and
 * delete. False when it cannot: cp takes its paths as strings, which cannot carry non-UTF-8 bytes.
 */
function move(from: Buffer, to: Buffer): boolean {
  try {
    fs.renameSync(from, to);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EXDEV') throw e;
    if (!isUtf8(from) || !isUtf8(to)) return false;
    fs.rmSync(to, { recursive: true, force: true });
    execFileSync('cp', ['-a', from.toString(), to.toString()]);
    fs.rmSync(from, { recursive: true });
    return true;
  }
}

/** Applies one edit; returns what it did in words, or null when it did not fit the tree. */
export function applyMutation(root: string, mu: Mutation): string | null {
  const l = listing(root);
  const at = (r: string) => bytesAt(root, r);
  const all = [...l.file, ...l.symlink, ...l.dir.slice(1)].sort();
  const join = (d: string, n: string) => (d ? `${d}/${n}` : n);
  const kindOf = (r: string) => (l.dir.includes(r) ? 'dir' : l.file.includes(r) ? 'file' : l.symlink.includes(r) ? 'symlink' : undefined);
  switch (mu.m) {
    case 'write': {
      const p = join(choose(l.dir, mu.dir)!, mu.name);
      if (kindOf(p) === 'dir') return null;
      if (kindOf(p) === 'symlink') fs.unlinkSync(at(p)); // never write through a symlink
      fs.writeFileSync(at(p), contentBytes(mu.content));
      return `write ${p} (${mu.content})`;
    }
    case 'append': {
      const p = choose(l.file, mu.pick);
      if (p === undefined) return null;
      fs.appendFileSync(at(p), mu.content);
      return `append ${mu.content} to ${p}`;
    }
    case 'truncate': {
      const p = choose(l.file, mu.pick);
      if (p === undefined) return null;
      fs.truncateSync(at(p), mu.size);
      return `truncate ${p} to ${mu.size}`;
    }
    case 'same-size': {
      const p = choose(l.file, mu.pick);
      if (p === undefined) return null;
      const st = fs.statSync(at(p));
      if (st.size === 0) return null;
      const old = fs.readFileSync(at(p));
      fs.writeFileSync(at(p), Buffer.from(old.map((b) => (b === 0x51 ? 0x52 : 0x51))));
      fs.utimesSync(at(p), st.atime, st.mtime);
      return `same-size overwrite of ${p}, times put back`;
    }
    case 'rename-over': {
      const from = choose(all, mu.pick);
      if (from === undefined) return null;
      const to = join(choose(l.dir, mu.dir)!, mu.name);
      // rename(2) puts a directory only over an empty directory, and anything else only over a non-directory
      if (to === from || to.startsWith(from + '/') || kindOf(to) === 'dir' || (kindOf(from) === 'dir' && kindOf(to) !== undefined)) return null;
      return move(at(from), at(to)) ? `rename ${from} over ${to}` : null;
    }
    case 'chmod': {
      const p = choose([...l.file, ...l.dir.slice(1)], mu.pick);
      if (p === undefined) return null;
      fs.chmodSync(at(p), mu.mode);
      return `chmod 0${mu.mode.toString(8)} ${p}`;
    }
    case 'chown': {
      const p = choose(all, mu.pick);
      if (p === undefined) return null;
      fs.lchownSync(at(p), mu.uid, mu.gid);
      return `chown ${mu.uid}:${mu.gid} ${p}`;
    }
    case 'setxattr': {
      const p = choose([...l.file, ...l.dir.slice(1)], mu.pick);
      if (p === undefined || !native.available()) return null;
      native.lsetxattrSync(at(p), mu.name, mu.value);
      return `setxattr ${mu.name}=${mu.value} ${p}`;
    }
    case 'retarget': {
      const p = choose(l.symlink, mu.pick);
      if (p === undefined) return null;
      fs.unlinkSync(at(p));
      fs.symlinkSync(mu.target, at(p));
      return `symlink ${p} -> ${mu.target}`;
    }
    case 'mkdir': {
      const p = join(choose(l.dir, mu.dir)!, mu.name);
      if (kindOf(p) !== undefined) return null;
      fs.mkdirSync(at(p));
      return `mkdir ${p}`;
    }
    case 'rm': {
      const p = choose([...l.file, ...l.symlink].sort(), mu.pick);
      if (p === undefined) return null;
      fs.unlinkSync(at(p));
      return `rm ${p}`;
    }
    case 'rm-r': {
      const p = choose(l.dir.slice(1), mu.pick);
      if (p === undefined) return null;
      fs.rmSync(at(p), { recursive: true });
      return `rm -r ${p}`;
    }
    case 'recreate': {
      const p = choose(l.dir.slice(1), mu.pick);
      if (p === undefined) return null;
      fs.rmSync(at(p), { recursive: true });
      fs.mkdirSync(at(p));
      fs.writeFileSync(at(join(p, mu.child)), 'new child');
      return `rm -r ${p}; mkdir ${p}; write ${p}/${mu.child}`;
    }
    case 'hardlink': {
      const from = choose(l.file, mu.pick);
      const to = join(choose(l.dir, mu.dir)!, mu.name);
      if (from === undefined || kindOf(to) !== undefined) return null;
      fs.linkSync(at(from), at(to));
      return `ln ${from} ${to}`;
    }
    case 'root-meta':
      fs.chmodSync(root, mu.mode);
      if (native.available()) native.lsetxattrSync(root, 'user.root', mu.xattr);
      return `chmod 0${mu.mode.toString(8)} /; setxattr user.root=${mu.xattr} /`;
  }
}
