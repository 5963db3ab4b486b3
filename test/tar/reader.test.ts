import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { TarReader, ReadHeader, parseNumeric } from '../../lib/tar/reader';
import { DEFAULT_TAR_LIMITS, TarLimits } from '../../lib/tar/types';
import { BadTarError, LimitExceededError, UnsafePathError } from '../../lib/errors';
import { rawTar, header, metaEntry, paxBody, base256, fixChecksum, entryBytes, pad } from '../fixtures/hostile-tar';
import { makeTempDir, removeTempDir } from '../fixtures/tmp';

interface Seen {
  h: ReadHeader;
  data: Buffer;
}

/** Parses `tar` pushed in chunks of `step` bytes (0: all at once); returns the entries with their data. */
function parse(tar: Buffer, step = 0, limits: Partial<TarLimits> = {}): Seen[] {
  const out: Seen[] = [];
  const r = new TarReader({ ...DEFAULT_TAR_LIMITS, ...limits }, (h) => {
    const seen: Seen = { h, data: Buffer.alloc(0) };
    out.push(seen);
    const parts: Buffer[] = [];
    return { write: (c) => parts.push(Buffer.from(c)), end: () => (seen.data = Buffer.concat(parts)) };
  });
  if (step === 0) r.push(tar);
  else for (let i = 0; i < tar.length; i += step) r.push(tar.subarray(i, i + step));
  r.end();
  return out;
}

const names = (s: Seen[]) => s.map((e) => e.h.name.toString('latin1'));

/** Expects `fn` to throw an error of class `C` whose `entry` is `entry` (when given). */
function throwsEntry(fn: () => unknown, C: new (...a: never[]) => Error, entry?: string | null): void {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(C);
  if (entry !== undefined) expect((err as { entry?: string | null }).entry).toBe(entry);
}

describe('TarReader: formats', () => {
  const tar = rawTar([
    { name: 'dir/', type: '5', mode: 0o2755, uid: 1000, gid: 100 },
    { name: 'dir/file', body: 'hello world', mode: 0o4711, mtime: 1600000000 },
    { name: 'link', type: '2', linkname: '/abs/target' },
    { name: 'hard', type: '1', linkname: 'dir/file' },
    { name: 'null', type: '3', devmajor: 1, devminor: 3 },
    { name: 'fifo', type: '6' },
    { name: 'big', body: Buffer.alloc(5000, 7) },
  ]);

  test.each([0, 1, 7, 511, 512, 513, 4096])('the same entries whatever the chunking (%i-byte pushes)', (step) => {
    const s = parse(tar, step);
    expect(names(s)).toEqual(['dir/', 'dir/file', 'link', 'hard', 'null', 'fifo', 'big']);
    expect(s.map((e) => e.h.type)).toEqual(['dir', 'file', 'symlink', 'link', 'char', 'fifo', 'file']);
    expect(s[0].h).toMatchObject({ mode: 0o2755, uid: 1000, gid: 100 });
    expect(s[1].h).toMatchObject({ mode: 0o4711, mtime: 1600000000, atime: 1600000000, size: 11 });
    expect(s[1].data.toString()).toBe('hello world');
    expect(s[2].h.linkname.toString()).toBe('/abs/target');
    expect(s[3].h.linkname.toString()).toBe('dir/file');
    expect(s[4].h).toMatchObject({ devmajor: 1, devminor: 3 });
    expect(s[6].data.equals(Buffer.alloc(5000, 7))).toBe(true);
  });

  test('PAX records: path, linkpath, size, mtime, atime, uid, gid and binary xattr values', () => {
    const bin = Buffer.from([0, 1, 0x0a, 0x3d, 0xff, 0x20]); // NUL, newline, '=', 0xff, space
    const longPath = 'p/'.repeat(200) + 'file';
    const s = parse(
      rawTar([
        {
          name: 'short',
          body: 'data',
          pax: { path: longPath, mtime: '1700000000.123456789', atime: '1600000000.5', uid: '4000000', gid: '3000000', 'SCHILY.xattr.user.bin': bin, 'SCHILY.xattr.security.capability': Buffer.from('01000002', 'hex'), comment: 'ignored' },
        },
        { name: 'l', type: '2', linkname: 'x', pax: { linkpath: 'L'.repeat(300) } },
      ]),
    );
    expect(s[0].h.name.toString()).toBe(longPath);
    expect(s[0].h.mtime).toBeCloseTo(1700000000.123456789, 6);
    expect(s[0].h.atime).toBe(1600000000.5);
    expect([s[0].h.uid, s[0].h.gid]).toEqual([4000000, 3000000]);
    expect(s[0].h.xattrs.get('user.bin')).toEqual(bin);
    expect(s[0].h.xattrs.get('security.capability')?.toString('hex')).toBe('01000002');
    expect(s[0].data.toString()).toBe('data');
    expect(s[1].h.linkname.toString()).toBe('L'.repeat(300));
    // PAX records apply to the next entry only
    expect(s[1].h.xattrs.size).toBe(0);
  });

  test('a PAX size overrides the header size', () => {
    const body = Buffer.alloc(700, 1);
    const s = parse(rawTar([{ name: 'f', body, size: 0, pax: { size: '700' } }, { name: 'after', body: 'a' }]));
    expect(s[0].data.length).toBe(700);
    expect(names(s)).toEqual(['f', 'after']);
  });

  test('GNU long names and long link targets (L and K records)', () => {
    const name = 'n'.repeat(150) + '/' + 'm'.repeat(150);
    const link = 't'.repeat(250);
    const s = parse(rawTar([{ name: 'trunc', type: '2', linkname: 'trunc', magic: 'gnu', longName: name, longLink: link }, { name: 'next', body: 'x', magic: 'gnu' }]));
    expect(s[0].h.name.toString()).toBe(name);
    expect(s[0].h.linkname.toString()).toBe(link);
    expect(s[1].h.name.toString()).toBe('next');
  });

  test('the ustar prefix field is used with the POSIX magic only', () => {
    const s = parse(rawTar([{ name: 'file', prefix: 'some/dir', body: 'x' }, { name: 'gnufile', prefix: '12345670123', magic: 'gnu', body: 'y' }]));
    expect(names(s)).toEqual(['some/dir/file', 'gnufile']);
  });

  test('non-UTF-8 names are kept byte for byte', () => {
    const name = Buffer.from([0x63, 0x61, 0x66, 0xe9, 0xff, 0x2f, 0x80]);
    const s = parse(rawTar([{ name, body: 'x' }, { name: 'p', pax: { path: Buffer.from([0xc3, 0x28]) } }]));
    expect(s[0].h.name.equals(name)).toBe(true);
    expect(s[1].h.name.equals(Buffer.from([0xc3, 0x28]))).toBe(true);
  });

  test('base-256 numbers: a size over 8 GiB, a large uid, a negative mtime', () => {
    const h = header({ name: 'huge' }, 0);
    base256(9n * 2n ** 30n, 12).copy(h, 124);
    base256(2n ** 40n, 8).copy(h, 108);
    base256(-86400n, 12).copy(h, 136);
    fixChecksum(h);
    let seen: ReadHeader | undefined;
    const r = new TarReader(DEFAULT_TAR_LIMITS, (e) => {
      seen = e;
      return null;
    });
    r.push(Buffer.concat([h, Buffer.alloc(4096)]));
    expect(seen).toMatchObject({ size: 9 * 2 ** 30, uid: 2 ** 40, mtime: -86400 });
    // the 8 GiB of data are not there
    throwsEntry(() => r.end(), BadTarError, 'huge');
  });

  test('parseNumeric: octal with spaces and NULs as GNU and Go accept, garbage refused', () => {
    const f = (s: string | Buffer) => parseNumeric(Buffer.isBuffer(s) ? s : Buffer.from(s, 'latin1'), 0, 8, 'mode', 'x');
    expect(f('0000644\0')).toBe(0o644);
    expect(f('   644 \0')).toBe(0o644);
    expect(f('\0\0\0\0\0\0\0\0')).toBe(0);
    expect(f('644\0junk')).toBe(0o644);
    expect(() => f('64 4\0\0\0\0')).toThrow(BadTarError);
    expect(() => f('0000899\0')).toThrow(BadTarError);
    expect(() => f(base256(-1n, 8))).toThrow(/negative/);
    expect(parseNumeric(base256(-1n, 8), 0, 8, 'mtime', 'x', true)).toBe(-1);
  });

  test('hardlinks, symlinks, devices, fifos and directories carry no data whatever their size says (as Go reads them)', () => {
    // the "body" of the directory is a valid header: Go, Python and GNU tar (for dirs and links) read it as the next entry
    const inner = rawTar([{ name: 'smuggled', body: 'S' }], { end: false });
    const s = parse(rawTar([{ name: 'd/', type: '5', body: inner }, { name: 'h', type: '1', linkname: 'd/f', body: inner }, { name: 'last', body: 'z' }]));
    expect(names(s)).toEqual(['d/', 'smuggled', 'h', 'smuggled', 'last']);
    expect(s.filter((e) => e.h.type !== 'file').every((e) => e.h.size === 0)).toBe(true);
  });

  test('an old-style directory (typeflag NUL, trailing slash)', () => {
    const s = parse(rawTar([{ name: 'old/', type: '\0' }, { name: 'old/f', type: '\0', body: 'x' }]));
    expect(s.map((e) => e.h.type)).toEqual(['dir', 'file']);
    throwsEntry(() => parse(rawTar([{ name: 'old/', type: '\0', body: 'x' }])), BadTarError, 'old/');
  });

  test('a global PAX header applies to no entry, as Go reads it (containerd, moby)', () => {
    const g = (rec: Record<string, string>) => metaEntry('g', paxBody(rec), 'pax_global_header');
    const ok = Buffer.concat([g({ comment: 'made by someone', mtime: '1' }), rawTar([{ name: 'a', body: 'x' }])]);
    expect(names(parse(ok))).toEqual(['a']);
    const s = parse(Buffer.concat([g({ path: '../evil', linkpath: '/etc/passwd', mtime: '5', uid: '7', 'SCHILY.xattr.user.x': 'y' }), rawTar([{ name: 'a', body: 'x', mtime: 1700000000 }, { name: 'l', type: '2', linkname: 'a' }])]));
    expect(names(s)).toEqual(['a', 'l']);
    expect([s[0].h.mtime, s[0].h.uid, s[0].h.xattrs.size, s[1].h.linkname.toString()]).toEqual([1700000000, 0, 0, 'a']);
    // extended headers pending before it go with it (Go merges them into the global header it returns)
    const pending = parse(Buffer.concat([metaEntry('x', paxBody({ path: '../evil' })), g({ comment: 'c' }), rawTar([{ name: 'b', body: 'x' }])]));
    expect(names(pending)).toEqual(['b']);
    // its records must still be well-formed
    expect(() => parse(Buffer.concat([metaEntry('g', Buffer.from('99 path=a\n'), 'pax_global_header'), rawTar([{ name: 'a', body: 'x' }])]))).toThrow(BadTarError);
  });
});

describe('TarReader: the end of the stream', () => {
  test('no end-of-archive blocks, and no padding after the last file (umoci insert)', () => {
    for (const tar of [rawTar([{ name: 'a', body: 'abc' }], { end: false }), rawTar([{ name: 'a', body: 'abc' }, { name: 'b', body: 'def' }], { end: false, padLast: false })]) {
      const s = parse(tar);
      expect(s[s.length - 1].data.toString()).toMatch(/abc|def/);
    }
    expect(parse(Buffer.alloc(0))).toEqual([]);
  });

  test('one end-of-archive block, or a cut one, is an end; anything after two is not read', () => {
    const one = rawTar([{ name: 'a', body: 'x' }], { end: false });
    expect(names(parse(Buffer.concat([one, Buffer.alloc(512)])))).toEqual(['a']);
    expect(names(parse(Buffer.concat([one, Buffer.alloc(700)])))).toEqual(['a']);
    expect(names(parse(Buffer.concat([one, Buffer.alloc(1024), Buffer.from('trailing garbage, hashed but never read')])))).toEqual(['a']);
    expect(names(parse(Buffer.concat([one, Buffer.alloc(10240)])))).toEqual(['a']);
  });

  test('an entry after a single end-of-archive block is refused (Go does too)', () => {
    const tar = Buffer.concat([rawTar([{ name: 'a', body: 'x' }], { end: false }), Buffer.alloc(512), rawTar([{ name: 'hidden', body: 'y' }])]);
    throwsEntry(() => parse(tar), BadTarError, 'hidden');
  });

  test('a stream cut inside an entry data or inside a header is refused, naming the entry', () => {
    const tar = rawTar([{ name: 'first', body: 'x' }, { name: 'second', body: 'y'.repeat(3000) }]);
    throwsEntry(() => parse(tar.subarray(0, 1024 + 512 + 100)), BadTarError, 'second');
    // inside the second header, past its name field
    throwsEntry(() => parse(tar.subarray(0, 1024 + 200)), BadTarError, 'second');
    expect(() => parse(tar.subarray(0, 1024 + 200))).toThrow(/after "first"/);
    // inside the first header, before its name is whole
    throwsEntry(() => parse(tar.subarray(0, 50)), BadTarError, null);
  });

  test('a stream that ends after an extended header, before its entry, is refused', () => {
    throwsEntry(() => parse(metaEntry('x', paxBody({ path: 'x' }))), BadTarError);
    throwsEntry(() => parse(metaEntry('L', Buffer.from('longname\0'))), BadTarError);
    throwsEntry(() => parse(Buffer.concat([metaEntry('x', paxBody({ path: 'x' })), Buffer.alloc(1024)])), BadTarError);
  });
});

describe('TarReader: refusals', () => {
  test('a header checksum mismatch', () => {
    throwsEntry(() => parse(rawTar([{ name: 'ok', body: 'x' }, { name: 'corrupt', body: 'x', badChecksum: true }])), BadTarError, 'corrupt');
    const flipped = rawTar([{ name: 'flip', body: 'x' }]);
    flipped[10] ^= 1;
    expect(() => parse(flipped)).toThrow(/checksum/);
  });

  test('negative and absurd sizes', () => {
    const neg = header({ name: 'neg' }, 0);
    base256(-5n, 12).copy(neg, 124);
    throwsEntry(() => parse(fixChecksum(neg)), BadTarError, 'neg');
    const huge = header({ name: 'huge' }, 0);
    base256(2n ** 80n, 12).copy(huge, 124);
    throwsEntry(() => parse(fixChecksum(huge)), BadTarError, 'huge');
    for (const size of ['-1', '1e3', '100000000000000000000', ' 5', '']) throwsEntry(() => parse(rawTar([{ name: 'p', body: 'x', pax: { size } }])), BadTarError, 'p');
  });

  test('malformed PAX records', () => {
    for (const body of ['99 path=a\n', '5 path=a\n', 'x path=a\n', '12 pathxxxx\n', '11 path=ab!']) {
      expect(() => parse(Buffer.concat([metaEntry('x', Buffer.from(body)), rawTar([{ name: 'a', body: 'x' }])]))).toThrow(BadTarError);
    }
  });

  test('a PAX header or GNU long name over the limit is refused from its header, before its body is buffered', () => {
    const limits = { maxHeaderBytes: 4096 };
    for (const type of ['x', 'L', 'K', 'g']) {
      const h = header({ name: `meta-${type}`, type }, 4097);
      // only the header is pushed: the refusal cannot have waited for the body
      const r = new TarReader({ ...DEFAULT_TAR_LIMITS, ...limits }, () => null);
      throwsEntry(() => r.push(h), LimitExceededError, `meta-${type}`);
    }
  });

  test("one entry's extended headers are limited together (many small PAX headers)", () => {
    const parts: Buffer[] = [];
    for (let i = 0; i < 10; i++) parts.push(metaEntry('x', paxBody({ [`SCHILY.xattr.user.a${i}`]: 'v'.repeat(900) })));
    parts.push(rawTar([{ name: 'a', body: 'x' }]));
    expect(() => parse(Buffer.concat(parts), 0, { maxHeaderBytes: 4096 })).toThrow(LimitExceededError);
    expect(names(parse(Buffer.concat(parts), 0, { maxHeaderBytes: 64 << 10 }))).toEqual(['a']);
  });

  test('a NUL in a PAX name or link target', () => {
    throwsEntry(() => parse(rawTar([{ name: 'x', body: 'x', pax: { path: Buffer.from('a\0/../b') } }])), UnsafePathError);
    throwsEntry(() => parse(rawTar([{ name: 'l', type: '2', pax: { linkpath: Buffer.from('a\0b') } }])), UnsafePathError, 'l');
  });

  test('sparse files and unknown entry types', () => {
    throwsEntry(() => parse(rawTar([{ name: 'sparse', type: 'S', body: 'x' }])), BadTarError, 'sparse');
    throwsEntry(() => parse(rawTar([{ name: 'psparse', body: 'x', pax: { 'GNU.sparse.major': '1', 'GNU.sparse.minor': '0' } }])), BadTarError);
    throwsEntry(() => parse(rawTar([{ name: 'weird', type: 'Q' }])), BadTarError, 'weird');
  });
});

describe('TarReader: archives written by GNU tar', () => {
  let src: string;
  beforeAll(() => {
    src = makeTempDir('reader-src');
    fs.mkdirSync(path.join(src, 'd'.repeat(120)), { recursive: true });
    fs.writeFileSync(path.join(src, 'd'.repeat(120), 'f'.repeat(150)), 'long');
    fs.writeFileSync(Buffer.from(src + '/caf\xe9', 'latin1'), 'latin1 name');
    fs.symlinkSync('t'.repeat(150), path.join(src, 'longlink'));
    fs.writeFileSync(path.join(src, 'a'), 'a');
    fs.linkSync(path.join(src, 'a'), path.join(src, 'hard'));
  });
  afterAll(() => removeTempDir(src));

  test.each(['gnu', 'posix', 'ustar', 'v7'])('--format=%s', (format) => {
    const args = [`--format=${format}`, '-cf', '-', '-C', src];
    // ustar and v7 cannot hold every name here: those formats get the short ones
    const tar = execFileSync('tar', format === 'gnu' || format === 'posix' ? [...args, '.'] : [...args, 'a', 'hard'], { maxBuffer: 1 << 26 });
    const s = parse(tar, 1000);
    const byName = new Map(s.map((e) => [e.h.name.toString('latin1').replace(/^\.\//, ''), e]));
    // one of the two names holds the data, the other links to it (which one is tar's choice)
    const pair = [byName.get('a'), byName.get('hard')].map((e) => `${e?.h.type}:${e?.data.toString()}`).sort();
    expect(pair).toEqual(['file:a', 'link:']);
    if (format === 'gnu' || format === 'posix') {
      expect(byName.get('d'.repeat(120) + '/' + 'f'.repeat(150))?.data.toString()).toBe('long');
      expect(byName.get('caf\xe9')?.data.toString()).toBe('latin1 name');
      expect(byName.get('longlink')?.h.linkname.toString()).toBe('t'.repeat(150));
    }
  });
});

test('fixture sanity: entryBytes pads its body', () => {
  expect(entryBytes({ name: 'a', body: 'x' }).length).toBe(1024);
  expect(pad(Buffer.alloc(512)).length).toBe(512);
});
