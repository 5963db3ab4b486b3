import * as fs from 'fs';
import * as path from 'path';
import * as native from '../../lib/native';
import { itIf } from '../fixtures/peers';
import { useTempDir } from '../fixtures/tmp';
import { writeSparse } from '../fixtures/tree';

const tmp = useTempDir('copy-entries');
const isRoot = process.getuid?.() === 0;
const { O_RDONLY, O_DIRECTORY } = fs.constants;

/** copyEntries of `names` (all in `src`) into `dir` under `root`, with the sources' own lstats. */
function batch(rootFd: number, root: string, dir: string, src: string, names: string[], flags = native.COPY_XATTRS): native.CopyEntriesBatch {
  const stats: bigint[] = [];
  for (const n of names) {
    const st = fs.lstatSync(path.join(src, n), { bigint: true });
    stats.push(0n, st.mode, st.uid, st.gid, st.size, st.blocks, st.rdev, st.atimeNs, st.mtimeNs);
  }
  return { rootFd, dir, dirShown: path.join(root, dir), srcDirs: [src], names, stats: BigInt64Array.from(stats), flags, newOwner: null };
}

function withRoot(root: string, f: (fd: number) => void): void {
  fs.mkdirSync(root, { recursive: true });
  const fd = fs.openSync(root, O_RDONLY | O_DIRECTORY);
  try {
    f(fd);
  } finally {
    fs.closeSync(fd);
  }
}

describe('copyEntries', () => {
  itIf(['addon'])('copies files (holes kept), directories, symlinks and fifos with modes, times to the ns and xattrs; directories get neither mode nor times', async () => {
    const src = path.join(tmp(), 'src');
    fs.mkdirSync(src);
    fs.writeFileSync(path.join(src, 'f'), 'hello');
    fs.chmodSync(path.join(src, 'f'), 0o640);
    native.lsetxattrSync(path.join(src, 'f'), 'user.note', 'n');
    native.lsetxattrSync(path.join(src, 'f'), 'user.overlay.opaque', 'y');
    fs.writeFileSync(path.join(src, 'empty'), '');
    writeSparse(path.join(src, 'sparse'), 32 << 20, 8 << 20, 'middle');
    fs.mkdirSync(path.join(src, 'd'), { mode: 0o755 });
    native.lsetxattrSync(path.join(src, 'd'), 'user.dir', 'd');
    fs.symlinkSync('f', path.join(src, 'l'));
    native.mknodSync(path.join(src, 'p'), fs.constants.S_IFIFO | 0o604);
    fs.chmodSync(path.join(src, 'p'), 0o604);
    for (const n of ['f', 'sparse', 'p']) native.lutimensSync(path.join(src, n), 1_600_000_000_111_222_333n, 1_500_000_000_444_555_666n);
    native.lutimensSync(path.join(src, 'l'), 1_600_000_000_111_222_333n, 1_400_000_000_000_000_001n);

    const root = path.join(tmp(), 'root');
    const names = ['f', 'empty', 'sparse', 'd', 'l', 'p'];
    fs.mkdirSync(root);
    const rootFd = fs.openSync(root, O_RDONLY | O_DIRECTORY);
    try {
      await native.copyEntries(batch(rootFd, root, '', src, names));
    } finally {
      fs.closeSync(rootFd);
    }
    const at = (n: string) => path.join(root, n);
    expect(fs.readFileSync(at('f'), 'utf8')).toBe('hello');
    expect(fs.statSync(at('f')).mode & 0o7777).toBe(0o640);
    expect(fs.statSync(at('f'), { bigint: true }).mtimeNs).toBe(1_500_000_000_444_555_666n);
    expect(native.lgetxattrSync(at('f'), 'user.note')!.toString()).toBe('n');
    expect(native.lgetxattrSync(at('f'), 'user.overlay.opaque')).toBeNull();
    expect(fs.statSync(at('empty')).size).toBe(0);
    const sp = fs.statSync(at('sparse'));
    expect(sp.size).toBe(32 << 20);
    expect(sp.blocks * 512).toBeLessThan(1 << 20);
    expect(fs.readFileSync(at('sparse')).subarray(8 << 20, (8 << 20) + 6).toString()).toBe('middle');
    const d = fs.statSync(at('d'));
    expect([d.isDirectory(), d.mode & 0o7777]).toEqual([true, 0o700]);
    expect(native.lgetxattrSync(at('d'), 'user.dir')!.toString()).toBe('d');
    expect(fs.readlinkSync(at('l'))).toBe('f');
    expect(fs.lstatSync(at('l'), { bigint: true }).mtimeNs).toBe(1_400_000_000_000_000_001n);
    const p = fs.lstatSync(at('p'), { bigint: true });
    expect([p.isFIFO(), Number(p.mode) & 0o7777, p.mtimeNs]).toEqual([true, 0o604, 1_500_000_000_444_555_666n]);

    // into the directory it made, reached from the root
    fs.writeFileSync(path.join(src, 'd', 'inner'), 'in');
    withRoot(root, (rootFd) => native.copyEntriesSync(batch(rootFd, root, 'd', path.join(src, 'd'), ['inner'])));
    expect(fs.readFileSync(at('d/inner'), 'utf8')).toBe('in');
  });

  itIf(['addon'])('never writes through a symlink: a symlinked directory on the way is refused, an existing name is not replaced', () => {
    const src = path.join(tmp(), 'src2');
    fs.mkdirSync(src);
    fs.writeFileSync(path.join(src, 'x'), 'x');
    const root = path.join(tmp(), 'root2');
    const outside = path.join(tmp(), 'outside');
    fs.mkdirSync(path.join(root, 'real'), { recursive: true });
    fs.mkdirSync(outside);
    fs.symlinkSync(outside, path.join(root, 'link'));
    fs.symlinkSync(outside, path.join(root, 'real', 'inner'));
    withRoot(root, (rootFd) => {
      for (const dir of ['link', 'real/inner']) {
        // (O_DIRECTORY | O_NOFOLLOW on a symlink: ENOTDIR)
        expect(() => native.copyEntriesSync(batch(rootFd, root, dir, src, ['x']))).toThrow(expect.objectContaining({ code: 'ENOTDIR', syscall: 'openat', path: path.join(root, dir) }));
      }
      fs.symlinkSync(path.join(outside, 'x'), path.join(root, 'real', 'x'));
      expect(() => native.copyEntriesSync(batch(rootFd, root, 'real', src, ['x']))).toThrow(expect.objectContaining({ code: 'EEXIST', syscall: 'openat', path: path.join(root, 'real', 'x') }));
    });
    expect(fs.readdirSync(outside)).toEqual([]);
  });

  itIf(['addon'])('refuses names and directories that are not plain names, and stats that do not match', () => {
    const src = path.join(tmp(), 'src3');
    fs.mkdirSync(src);
    fs.writeFileSync(path.join(src, 'x'), 'x');
    const root = path.join(tmp(), 'root3');
    withRoot(root, (rootFd) => {
      const ok = batch(rootFd, root, '', src, ['x']);
      for (const name of ['..', '.', 'a/b', '']) expect(() => native.copyEntriesSync({ ...ok, names: [name] })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
      for (const dir of ['..', 'a/../b', '/abs', 'a//b']) expect(() => native.copyEntriesSync({ ...ok, dir })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
      expect(() => native.copyEntriesSync({ ...ok, stats: ok.stats.subarray(1) })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
      expect(() => native.copyEntriesSync({ ...ok, srcDirs: [] })).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
    });
    expect(fs.readdirSync(root)).toEqual([]);
  });

  itIf(['addon'])('names the entry a failure was met on, and stops there', () => {
    const src = path.join(tmp(), 'src4');
    fs.mkdirSync(src);
    for (const n of ['a', 'b', 'c']) fs.writeFileSync(path.join(src, n), n);
    const root = path.join(tmp(), 'root4');
    withRoot(root, (rootFd) => {
      const b = batch(rootFd, root, '', src, ['a', 'b', 'c']);
      fs.rmSync(path.join(src, 'b'));
      expect(() => native.copyEntriesSync(b)).toThrow(expect.objectContaining({ code: 'ENOENT', syscall: 'openat', path: path.join(src, 'b') }));
    });
    expect(fs.readdirSync(root)).toEqual(['a']);
  });

  itIf(isRoot && native.available())('as root: owners (set-id bits kept through the chown), devices, trusted.* xattrs', () => {
    const src = path.join(tmp(), 'src5');
    fs.mkdirSync(src);
    fs.writeFileSync(path.join(src, 'suid'), '#!/bin/sh\n');
    fs.chownSync(path.join(src, 'suid'), 1000, 1000);
    fs.chmodSync(path.join(src, 'suid'), 0o4755);
    native.lsetxattrSync(path.join(src, 'suid'), 'trusted.t', Buffer.from([0, 1]));
    native.mknodSync(path.join(src, 'null'), fs.constants.S_IFCHR | 0o666, 1, 3);
    fs.chmodSync(path.join(src, 'null'), 0o666);
    fs.chownSync(path.join(src, 'null'), 5, 6);
    fs.mkdirSync(path.join(src, 'd'));
    fs.chownSync(path.join(src, 'd'), 7, 8);
    fs.symlinkSync('suid', path.join(src, 'l'));
    fs.lchownSync(path.join(src, 'l'), 9, 10);
    const root = path.join(tmp(), 'root5');
    withRoot(root, (rootFd) => native.copyEntriesSync(batch(rootFd, root, '', src, ['suid', 'null', 'd', 'l'], native.COPY_OWNERS | native.COPY_XATTRS)));
    const s = fs.statSync(path.join(root, 'suid'));
    expect([s.mode & 0o7777, s.uid, s.gid]).toEqual([0o4755, 1000, 1000]);
    expect(native.lgetxattrSync(path.join(root, 'suid'), 'trusted.t')).toEqual(Buffer.from([0, 1]));
    const n = fs.lstatSync(path.join(root, 'null'));
    expect([n.isCharacterDevice(), n.rdev, n.mode & 0o7777, n.uid, n.gid]).toEqual([true, fs.lstatSync('/dev/null').rdev, 0o666, 5, 6]);
    const d = fs.statSync(path.join(root, 'd'));
    expect([d.uid, d.gid]).toEqual([7, 8]);
    const l = fs.lstatSync(path.join(root, 'l'));
    expect([l.uid, l.gid]).toEqual([9, 10]);
  });
});
