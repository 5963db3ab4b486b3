import * as fs from 'fs';
import * as path from 'path';
import { createHash } from 'crypto';
import { createTarProducer } from '../../lib/tar/pack';
import type { ListedEntry, PackObserver } from '../../lib/tar/pack';
import * as native from '../../lib/native';
import { itIf } from '../fixtures/peers';
import { useTempDir } from '../fixtures/tmp';

const tmp = useTempDir('pack-one-call');

/** Hears the files as a flip commit's hasher does: each file's digest by path. */
class Digests implements PackObserver {
  readonly files = new Map<string, string>();
  private current: { rel: string; hash: ReturnType<typeof createHash> } | null = null;
  constructor(readonly wantsDescriptor: boolean) {}
  entry(e: ListedEntry): void {
    if (e.kind === 'entry' && e.st.isFile()) this.current = { rel: e.rel.toString(), hash: createHash('sha256') };
  }
  fileOpen(): void {}
  content(chunk: Buffer): void {
    this.current!.hash.update(chunk);
  }
  fileEnd(): void {
    this.files.set(this.current!.rel, this.current!.hash.digest('hex'));
    this.current = null;
  }
}

/** The whole tar of a confined explicit list, filled through a small buffer (so a header and its file's bytes fall across fills). */
function pack(root: string, entries: string[], observer: PackObserver): Buffer {
  const p = createTarProducer({ root, entries: entries.map((e) => ({ path: e, file: e !== 'd' && e !== 'd/link' })), confined: 'the test tree' }, {}, observer);
  const out: Buffer[] = [];
  for (;;) {
    const buf = Buffer.alloc(700);
    const n = p.fill(buf);
    out.push(buf.subarray(0, n));
    if (n < buf.length) return Buffer.concat(out);
  }
}

describe('a confined pack whose observer wants no descriptor', () => {
  itIf(['addon'])('gives the bytes and the file contents the descriptor path gives, small files read by one call of the addon', () => {
    const root = path.join(tmp(), 'tree');
    fs.mkdirSync(path.join(root, 'd'), { recursive: true });
    fs.writeFileSync(path.join(root, 'd/small'), 'x'.repeat(300));
    fs.writeFileSync(path.join(root, 'd/empty'), '');
    fs.writeFileSync(path.join(root, 'd/big'), Buffer.alloc(200_000, 7));
    fs.writeFileSync(path.join(root, 'd/edge'), Buffer.alloc(64 << 10, 3));
    fs.linkSync(path.join(root, 'd/small'), path.join(root, 'd/twin'));
    fs.symlinkSync('small', path.join(root, 'd/link'));
    fs.writeFileSync(path.join(root, 'd/marked'), 'with an xattr');
    native.lsetxattrSync(path.join(root, 'd/marked'), 'user.mark', 'x');
    const entries = ['d', 'd/small', 'd/empty', 'd/big', 'd/edge', 'd/twin', 'd/link', 'd/marked'];
    const old = Math.floor(Date.now() / 1000) - 3 * 86400;
    fs.utimesSync(path.join(root, 'd/small'), old, fs.statSync(path.join(root, 'd/small')).mtimeMs / 1000);
    const viaFd = new Digests(true);
    const a = pack(root, entries, viaFd);
    const oneCall = new Digests(false);
    const calls = jest.spyOn(native, 'readFileAtSync');
    const b = pack(root, entries, oneCall);
    // every file the list says is one (big: found too large, nothing read, then read by descriptor)
    expect(calls).toHaveBeenCalledTimes(6);
    calls.mockRestore();
    expect(b.equals(a)).toBe(true);
    expect([...oneCall.files]).toEqual([...viaFd.files]);
    expect(oneCall.files.get('d/small')).toBe(createHash('sha256').update('x'.repeat(300)).digest('hex'));
    expect(oneCall.files.get('d/empty')).toBe(createHash('sha256').digest('hex'));
    expect(b.includes(Buffer.from('SCHILY.xattr.user.mark=x'))).toBe(true);
    // read without moving the atime, as the descriptor path reads
    expect(Math.floor(fs.statSync(path.join(root, 'd/small')).atimeMs / 1000)).toBe(old);
  });

  it('reads by descriptor where the addon has no readFileAt (the same bytes)', () => {
    const root = path.join(tmp(), 'plain');
    fs.mkdirSync(root);
    fs.writeFileSync(path.join(root, 'f'), 'y'.repeat(1000));
    const a = pack(root, ['f'], new Digests(true));
    const supports = jest.spyOn(native, 'supports').mockImplementation(() => false);
    const calls = jest.spyOn(native, 'readFileAtSync');
    try {
      const heard = new Digests(false);
      expect(pack(root, ['f'], heard).equals(a)).toBe(true);
      expect(calls).not.toHaveBeenCalled();
      expect(heard.files.get('f')).toBe(createHash('sha256').update('y'.repeat(1000)).digest('hex'));
    } finally {
      supports.mockRestore();
      calls.mockRestore();
    }
  });
});

describe('readFileAtSync', () => {
  itIf(['addon'])('reads a file relative to a directory descriptor with both fstats, refuses a symlink with O_NOFOLLOW, and reads nothing of what is not a regular file', () => {
    const dir = tmp();
    fs.writeFileSync(path.join(dir, 'f'), 'hello');
    fs.symlinkSync('f', path.join(dir, 'l'));
    fs.mkdirSync(path.join(dir, 'sub'));
    const dirFd = fs.openSync(dir, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
    try {
      const st = new BigInt64Array(native.READ_FILE_AT_FIELDS.length);
      const field = (name: (typeof native.READ_FILE_AT_FIELDS)[number]) => st[native.READ_FILE_AT_FIELDS.indexOf(name)];
      const buf = Buffer.alloc(64);
      const flags = fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK;
      expect(native.readFileAtSync(dirFd, 'f', flags, buf, st)).toBe(5);
      expect(buf.subarray(0, 5).toString()).toBe('hello');
      const s = fs.lstatSync(path.join(dir, 'f'), { bigint: true });
      for (const k of ['ino', 'dev', 'mode', 'nlink', 'uid', 'gid', 'size', 'blocks', 'mtimeNs', 'ctimeNs'] as const) expect([k, field(k)]).toEqual([k, s[k]]);
      expect([field('afterIno'), field('afterDev'), field('afterSize'), field('afterCtimeNs')]).toEqual([s.ino, s.dev, s.size, s.ctimeNs]);
      expect(field('xattrBytes')).toBe(0n);
      native.lsetxattrSync(path.join(dir, 'f'), 'user.k', 'v');
      native.readFileAtSync(dirFd, 'f', flags, buf, st);
      expect(field('xattrBytes')).toBe(BigInt('user.k\0'.length));
      // a file of buf.length bytes or more: nothing read, its fstat given
      expect(native.readFileAtSync(dirFd, 'f', flags, Buffer.alloc(5), st)).toBe(-2);
      expect(field('size')).toBe(5n);
      expect(() => native.readFileAtSync(dirFd, 'l', flags, buf, st)).toThrow(expect.objectContaining({ code: 'ELOOP', syscall: 'open', path: 'l' }));
      expect(() => native.readFileAtSync(dirFd, 'missing', flags, buf, st)).toThrow(expect.objectContaining({ code: 'ENOENT' }));
      // not a regular file: -1, and its mode said
      expect(native.readFileAtSync(dirFd, 'sub', flags, buf, st)).toBe(-1);
      expect(Number(field('mode')) & fs.constants.S_IFMT).toBe(fs.constants.S_IFDIR);
    } finally {
      fs.closeSync(dirFd);
    }
  });
});
