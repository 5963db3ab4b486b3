import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as native from '../../lib/native';
import { NoFollowDir } from '../../lib/native/no-follow-dir';
import { writeSparse } from '../fixtures/tree';

const itAddon = native.supports('copyFdSync') ? it : it.skip;
if (!native.supports('copyFdSync')) console.warn(`copyFd tests skipped: the native addon is unavailable (${native.addonStatus().reason ?? 'it lacks copyFd: rebuild it'})`);

let dir: string;
let root: string;
let victim: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'layerfs-nofollow-'));
  root = path.join(dir, 'tree');
  victim = path.join(dir, 'victim');
  fs.mkdirSync(path.join(root, 'a/b'), { recursive: true });
  fs.writeFileSync(path.join(root, 'a/b/f'), 'inside');
  fs.mkdirSync(victim);
  fs.writeFileSync(path.join(victim, 'f'), 'outside');
  fs.symlinkSync(victim, path.join(root, 'link'));
  fs.symlinkSync(path.join(victim, 'f'), path.join(root, 'a/flink'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const fails = (fn: () => unknown, message: string) => expect(fn).toThrow(expect.objectContaining({ code: 'LAYERFS_CHANGED_MEANWHILE', message: expect.stringContaining(message) }));

describe('NoFollowDir', () => {
  it('reads and writes below its root by descriptor', () => {
    const t = new NoFollowDir(root, 'tree t');
    try {
      expect(t.lstat('a/b/f').isFile()).toBe(true);
      expect(fs.readFileSync(t.at('a/b/f'), 'utf8')).toBe('inside');
      expect(t.readdir('a').map(String).sort()).toEqual(['b', 'flink']);
      expect(t.readdir('').map(String).sort()).toEqual(['a', 'link']);
      fs.mkdirSync(t.at('a/b/new'));
      fs.writeFileSync(t.at('a/b/new/g'), 'g', { flag: 'wx' });
      expect(fs.readFileSync(path.join(root, 'a/b/new/g'), 'utf8')).toBe('g');
      // the final component itself is left to the call: lstat and readlink see the symlink
      expect(t.lstat('link').isSymbolicLink()).toBe(true);
      expect(fs.readlinkSync(t.at('link'))).toBe(victim);
    } finally {
      t.close();
    }
  });

  it('never goes through a symlink on the way, whether it was there from the start or turned up later', () => {
    const t = new NoFollowDir(root, 'tree t');
    try {
      fails(() => t.at('link/f'), 'tree t changed meanwhile at "link/f": "link" is a symlink where a directory was');
      fails(() => t.readdir('link'), '"link" is a symlink');
      fails(() => t.open('a/flink', fs.constants.O_RDONLY), 'a symlink is where a file was');
      // `a` is open from an earlier call; swapped for a symlink now, a fresh lookup refuses it
      t.lstat('a/b/f');
      fs.renameSync(path.join(root, 'a'), path.join(root, 'a.moved'));
      fs.symlinkSync(victim, path.join(root, 'a'));
      const other = new NoFollowDir(root, 'tree t');
      try {
        fails(() => other.lstat('a/f'), '"a" is a symlink');
      } finally {
        other.close();
      }
      // ...and the walk that had it open goes on reading the directory it opened (now a.moved), inside the tree
      expect(fs.readFileSync(t.at('a/b/f'), 'utf8')).toBe('inside');
      fails(() => t.lstat('a/gone'), 'it is gone');
      expect(fs.readFileSync(path.join(victim, 'f'), 'utf8')).toBe('outside');
    } finally {
      t.close();
    }
  });

  it('refuses ".." and the root as an entry, and says what is on the way when it is not a directory', () => {
    const t = new NoFollowDir(root, 'tree t');
    try {
      expect(() => t.at('a/../../victim/f')).toThrow(expect.objectContaining({ code: 'LAYERFS_INVALID_ARGUMENT' }));
      expect(() => t.at('')).toThrow(expect.objectContaining({ code: 'LAYERFS_INVALID_ARGUMENT' }));
      fails(() => t.at('a/b/f/x'), 'not a directory');
    } finally {
      t.close();
    }
  });

  it('takes names that are not UTF-8, byte for byte', () => {
    const name = Buffer.from([0x66, 0xff, 0xfe]);
    fs.writeFileSync(Buffer.concat([Buffer.from(root + '/a/'), name]), 'latin');
    const t = new NoFollowDir(root, 'tree t');
    try {
      const p = t.at(Buffer.concat([Buffer.from('a/'), name]));
      expect(Buffer.isBuffer(p)).toBe(true);
      expect(fs.readFileSync(p, 'utf8')).toBe('latin');
      expect(t.readdir('a').some((n) => n.equals(name))).toBe(true);
    } finally {
      t.close();
    }
  });

  it('keeps no descriptor open after close', () => {
    const before = fs.readdirSync('/proc/self/fd').length;
    const t = new NoFollowDir(root, 'tree t');
    t.lstat('a/b/f');
    fs.closeSync(t.openDir('a/b'));
    t.close();
    expect(fs.readdirSync('/proc/self/fd').length).toBe(before);
  });
});

describe('copyFd', () => {
  itAddon('copies a sparse file keeping its holes: 64 MiB with 4 KiB of data stays small', () => {
    const src = path.join(dir, 'sparse');
    const data = Buffer.alloc(4096, 0x61);
    writeSparse(src, 64 << 20, 40 << 20, data);
    const inFd = fs.openSync(src, 'r');
    const outFd = fs.openSync(path.join(dir, 'copy'), 'wx');
    let r: native.CopyFdResult;
    try {
      r = native.copyFdSync(inFd, outFd);
    } finally {
      fs.closeSync(inFd);
      fs.closeSync(outFd);
    }
    const st = fs.statSync(path.join(dir, 'copy'));
    expect(st.size).toBe(64 << 20);
    expect(r.size).toBe(64 << 20);
    if (!r.cloned) expect(r.copied).toBeLessThan(1 << 20);
    expect(st.blocks * 512).toBeLessThan(1 << 20);
    const fd = fs.openSync(path.join(dir, 'copy'), 'r');
    const back = Buffer.alloc(8192);
    fs.readSync(fd, back, 0, 8192, (40 << 20) - 4096);
    fs.closeSync(fd);
    expect(back.subarray(0, 4096).equals(Buffer.alloc(4096))).toBe(true);
    expect(back.subarray(4096).equals(data)).toBe(true);
  });

  itAddon('copies a plain file whole, and fails like Node on a bad descriptor', async () => {
    const src = path.join(dir, 'plain');
    fs.writeFileSync(src, Buffer.alloc(300_000, 7));
    const inFd = fs.openSync(src, 'r');
    const outFd = fs.openSync(path.join(dir, 'copy'), 'wx');
    try {
      expect((await native.copyFd(inFd, outFd)).size).toBe(300_000);
    } finally {
      fs.closeSync(inFd);
      fs.closeSync(outFd);
    }
    expect(fs.readFileSync(path.join(dir, 'copy')).equals(fs.readFileSync(src))).toBe(true);
    expect(() => native.copyFdSync(987654, 987655)).toThrow(expect.objectContaining({ code: 'EBADF', syscall: 'fstat' }));
  });
});
