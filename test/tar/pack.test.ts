import * as fs from 'fs';
import * as net from 'net';
import * as path from 'path';
import * as zlib from 'zlib';
import { packStream, packToFile, PackSource } from '../../lib/tar/pack-in-worker';
import type { PackOptions } from '../../lib/tar/types';
import { WINDOW } from '../../lib/workers/chunk-channel';
import { makeTempDir, removeTempDir } from '../fixtures/tmp';
import { hasTool, isRoot, itIf } from '../fixtures/peers';
import { gnuExtract, gnuList, gnuNames, headers, requireDist, run, setMtime, sha256, treeDiff } from './pack-helpers';

/** without the addon a pack carries no xattrs, so an extracted tree cannot equal its source */
const itTreeXattrs = itIf(['setfattr', 'getfattr', 'addon']);

let work: string;
beforeAll(requireDist);
beforeEach(() => {
  work = makeTempDir('pack');
});
afterEach(() => removeTempDir(work));

async function packBytes(source: PackSource, opts: PackOptions = {}): Promise<Buffer> {
  const out = path.join(work, `out-${Math.random().toString(36).slice(2)}.tar`);
  await packToFile(source, out, opts);
  return fs.readFileSync(out);
}

/** A file of `size` zeros that takes no disk space. */
function sparse(p: string, size: number): void {
  fs.writeFileSync(p, '');
  fs.truncateSync(p, size);
}

/** 3 MiB + 17 bytes of varied content: crosses the 1 MiB read chunks, not a block multiple. */
function bigContent(): Buffer {
  const b = Buffer.alloc(3 * 2 ** 20 + 17);
  for (let i = 0; i < b.length; i++) b[i] = (i * 31 + (i >> 12)) & 0xff;
  return b;
}

/** A tree with every kind of entry tar carries, with fixed mtimes (directories set last). */
function buildTree(root: string): void {
  const p = (...s: string[]) => path.join(root, ...s);
  fs.mkdirSync(root, { recursive: true });
  for (const d of ['bin', 'etc', 'tmp', 'data', 'empty', 'sgid']) fs.mkdirSync(p(d));
  fs.writeFileSync(p('bin/sh'), '#!/bin/sh\necho hi\n');
  fs.chmodSync(p('bin/sh'), 0o4755);
  fs.linkSync(p('bin/sh'), p('bin/sh-link'));
  fs.linkSync(p('bin/sh'), p('z-hardlink'));
  fs.writeFileSync(p('etc/passwd'), 'root:x:0:0::/root:/bin/sh\n');
  fs.writeFileSync(p('etc/cap'), 'capable');
  fs.symlinkSync('passwd', p('etc/link'));
  fs.symlinkSync('/nowhere/at/all', p('etc/dangling'));
  fs.chmodSync(p('tmp'), 0o1777);
  fs.chmodSync(p('sgid'), 0o2755);
  fs.writeFileSync(p('data/big'), bigContent());
  fs.writeFileSync(p('data/zero'), '');
  fs.writeFileSync(p('data/private'), 'secret');
  fs.chmodSync(p('data/private'), 0o600);
  run('mkfifo', [p('data/fifo')]);
  if (hasTool('setfattr')) {
    run('setfattr', ['-n', 'user.note', '-v', 'hello', p('etc/passwd')]);
    run('setfattr', ['-n', 'user.bin', '-v', '0x00ff0a3d', p('etc/passwd')]);
    run('setfattr', ['-n', 'user.dir', '-v', 'on-a-dir', p('etc')]);
  }
  if (isRoot() && hasTool('mknod') && hasTool('setfattr')) {
    fs.mkdirSync(p('dev'));
    run('mknod', [p('dev/null'), 'c', '1', '3']);
    run('mknod', [p('dev/loop0'), 'b', '7', '0']);
    fs.chownSync(p('etc/passwd'), 1234, 5678);
    fs.lchownSync(p('etc/link'), 99, 98);
    fs.chownSync(p('tmp'), 4321, 4321);
    if (hasTool('setcap')) run('setcap', ['cap_net_raw+ep', p('etc/cap')]);
    else run('setfattr', ['-n', 'security.capability', '-v', '0x0100000200200000000000000000000000000000', p('etc/cap')]);
  }
  // fixed mtimes, children before their parents (a child's creation changes its parent's mtime)
  let t = 1_500_000_000;
  for (const rel of pathsUnder(root).reverse()) setMtime(path.join(root, rel), (t += 1000));
}

/** Every path under root, relative, parents before children. */
function pathsUnder(root: string): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    for (const e of fs.readdirSync(path.join(root, rel), { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const r = path.join(rel, e.name);
      out.push(r);
      if (e.isDirectory()) walk(r);
    }
  };
  walk('');
  return out;
}

describe('packToFile', () => {
  it('gives the same bytes for the same tree, and for a copy of it made later', async () => {
    const src = path.join(work, 'src');
    buildTree(src);
    const a = await packBytes({ dir: src });
    const b = await packBytes({ dir: src });
    expect(b.equals(a)).toBe(true);
    const copy = path.join(work, 'copy');
    run('cp', ['-a', src, copy]);
    const c = await packBytes({ dir: copy });
    expect(sha256(c)).toBe(sha256(a));
  });

  it('reads a file it owns without moving its atime (explicit entries, as a commit packs)', async () => {
    const src = path.join(work, 'src');
    fs.mkdirSync(src);
    const f = path.join(src, 'f');
    fs.writeFileSync(f, 'read me\n');
    // an atime older than the mtime: any read under relatime or strictatime would move it
    const old = Math.floor(Date.now() / 1000) - 3 * 86400;
    fs.utimesSync(f, old, fs.statSync(f).mtimeMs / 1000);
    await packBytes({ root: src, entries: [{ path: 'f' }], confined: 'the test tree' });
    expect(Math.floor(fs.statSync(f).atimeMs / 1000)).toBe(old);
  });

  itTreeXattrs('writes a tar GNU tar lists and extracts to an equal tree', async () => {
    const src = path.join(work, 'src');
    buildTree(src);
    const tar = path.join(work, 'l.tar');
    const r = await packToFile({ dir: src }, tar);
    expect(r.size).toBe(fs.statSync(tar).size);
    expect(r.size % 512).toBe(0);
    const listing = gnuList(tar);
    expect(listing).toMatch(/^-rwsr-xr-x 0\/0 +18 .* bin\/sh$/m);
    expect(listing).toMatch(/^hrwsr-xr-x 0\/0 +0 .* bin\/sh-link link to bin\/sh$/m);
    expect(listing).toMatch(/^hrwsr-xr-x .* z-hardlink link to bin\/sh$/m);
    expect(listing).toMatch(/^drwxrwxrwt .* tmp\/$/m);
    expect(listing).toMatch(/^prw-r--r-- .* data\/fifo$/m);
    if (isRoot()) expect(listing).toMatch(/^crw-r--r-- 0\/0 +1,3 .* dev\/null$/m);
    const out = path.join(work, 'out');
    gnuExtract(tar, out);
    expect(treeDiff(src, out)).toEqual([]);
    if (isRoot()) expect(run('getfattr', ['-h', '-n', 'security.capability', '-e', 'hex', path.join(out, 'etc/cap')]).toString()).toContain('security.capability=0x');
  });

  it('orders entries by path components, directories first, and ends with two zero blocks', async () => {
    const src = path.join(work, 'src');
    for (const d of ['a', 'a-b', 'a/b', 'B']) fs.mkdirSync(path.join(src, d), { recursive: true });
    for (const f of ['a/b/c', 'a.txt', 'a-b/x', 'a0']) fs.writeFileSync(path.join(src, f), f);
    const tar = await packBytes({ dir: src });
    // bytewise per component: 'B' < 'a' < 'a-b' < 'a.txt' < 'a0', and a/ with all its contents before a-b/
    expect(headers(tar).map((h) => h.name)).toEqual(['B/', 'a/', 'a/b/', 'a/b/c', 'a-b/', 'a-b/x', 'a.txt', 'a0']);
    expect(tar.subarray(tar.length - 1024).every((x) => x === 0)).toBe(true);
    expect(tar.subarray(tar.length - 1536, tar.length - 1024).every((x) => x === 0)).toBe(false);
  });

  it('packs an empty directory as the end-of-archive blocks alone', async () => {
    const src = path.join(work, 'empty');
    fs.mkdirSync(src);
    const r = await packToFile({ dir: src }, path.join(work, 'e.tar'));
    expect(r).toEqual({ diffId: sha256(Buffer.alloc(1024)), digest: sha256(Buffer.alloc(1024)), size: 1024, uncompressedSize: 1024, compression: 'none', entries: 0 });
  });

  it('writes long names and long link targets through PAX, and GNU tar reads them back', async () => {
    const src = path.join(work, 'src');
    const deep = path.join(src, 'n'.repeat(200), 'o'.repeat(120));
    fs.mkdirSync(deep, { recursive: true });
    const file = path.join(deep, 'm'.repeat(200));
    fs.writeFileSync(file, 'long');
    fs.linkSync(file, path.join(src, 'short-link'));
    fs.symlinkSync('t'.repeat(250) + '/' + 'u'.repeat(200), path.join(src, 'long-symlink'));
    fs.symlinkSync(path.relative(src, file), path.join(deep, 'rel'));
    const tar = path.join(work, 'long.tar');
    await packToFile({ dir: src }, tar);
    const names = gnuNames(tar);
    const rel = path.relative(src, file);
    expect(rel.length).toBeGreaterThan(500);
    expect(names).toContain(rel);
    // the first path of the inode in order is the long one; the short name links to it
    expect(gnuList(tar)).toContain(`short-link link to ${rel}`);
    const out = path.join(work, 'out');
    gnuExtract(tar, out);
    expect(treeDiff(src, out, { xattrs: false })).toEqual([]);
  });

  it('keeps file names that are not UTF-8 byte for byte', async () => {
    const src = Buffer.from(path.join(work, 'src'));
    const odd = Buffer.from([0x66, 0xff, 0x80, 0x2e, 0x74]);
    const longOdd = Buffer.concat([Buffer.from('l'.repeat(120)), Buffer.from([0xc3, 0x28])]);
    const j = (...parts: Buffer[]) => Buffer.concat(parts.flatMap((p, i) => (i ? [Buffer.from('/'), p] : [p])));
    fs.mkdirSync(j(src, odd), { recursive: true });
    fs.writeFileSync(j(src, odd, odd), 'odd');
    fs.writeFileSync(j(src, longOdd), 'long odd');
    const tar = path.join(work, 'odd.tar');
    await packToFile({ dir: src }, tar);
    expect(gnuNames(tar)).toEqual([j(odd).toString('latin1') + '/', j(odd, odd).toString('latin1'), longOdd.toString('latin1')]);
    const out = path.join(work, 'out');
    gnuExtract(tar, out);
    expect(fs.readdirSync(Buffer.from(out), { encoding: 'buffer' }).sort(Buffer.compare)).toEqual([odd, longOdd].sort(Buffer.compare));
    expect(fs.readFileSync(j(Buffer.from(out), odd, odd)).toString()).toBe('odd');
    expect(treeDiff(src.toString(), out, { xattrs: false })).toEqual([]);
  });

  it('clamps mtimes to sourceDateEpoch and can write one owner for every entry', async () => {
    const src = path.join(work, 'src');
    fs.mkdirSync(src);
    fs.writeFileSync(path.join(src, 'old'), '');
    fs.writeFileSync(path.join(src, 'new'), '');
    setMtime(path.join(src, 'old'), 946_684_800); // 2000
    setMtime(path.join(src, 'new'), 1_577_836_800); // 2020
    const tar = await packBytes({ dir: src }, { sourceDateEpoch: 1_262_304_000, owner: { uid: 42, gid: 43 } }); // 2010
    expect(headers(tar).map((h) => [h.name, h.mtime, h.uid, h.gid])).toEqual([
      ['new', 1_262_304_000, 42, 43],
      ['old', 946_684_800, 42, 43],
    ]);
  });

  it('can write one mtime and normalised modes for every entry (builds)', async () => {
    const src = path.join(work, 'src');
    fs.mkdirSync(path.join(src, 'd'), { recursive: true });
    fs.writeFileSync(path.join(src, 'd/exe'), '');
    fs.chmodSync(path.join(src, 'd/exe'), 0o700);
    fs.writeFileSync(path.join(src, 'd/plain'), '');
    fs.chmodSync(path.join(src, 'd/plain'), 0o600);
    fs.symlinkSync('plain', path.join(src, 'd/link'));
    const tar = await packBytes({ dir: src }, { mtime: 1_234_567_890, fileMode: 0o644, dirMode: 0o755 });
    expect(headers(tar).map((h) => [h.name, h.mode, h.mtime])).toEqual([
      ['d/', 0o755, 1_234_567_890],
      ['d/exe', 0o755, 1_234_567_890], // x kept where the mode gives r
      ['d/link', 0o777, 1_234_567_890],
      ['d/plain', 0o644, 1_234_567_890],
    ]);
  });

  it('skips sockets', async () => {
    const src = path.join(work, 'src');
    fs.mkdirSync(src);
    fs.writeFileSync(path.join(src, 'file'), 'x');
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(path.join(src, 'sock'), resolve));
    try {
      expect(fs.lstatSync(path.join(src, 'sock')).isSocket()).toBe(true);
      const r = await packToFile({ dir: src }, path.join(work, 's.tar'));
      expect(r.entries).toBe(1);
      expect(gnuNames(path.join(work, 's.tar'))).toEqual(['file']);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  describe('compression', () => {
    const zstdAvailable = (() => {
      try {
        require('zstd-napi');
        return true;
      } catch {
        return false;
      }
    })();
    if (!zstdAvailable) console.warn('pack tests: zstd-napi is not installed; the zstd case is skipped');
    const cases: Array<['none' | 'gzip' | 'zstd', (b: Buffer) => Buffer]> = [
      ['none', (b) => b],
      ['gzip', (b) => zlib.gunzipSync(b)],
    ];
    if (zstdAvailable && hasTool('zstd')) cases.push(['zstd', (b) => run('zstd', ['-dc'], b)]);

    it.each(cases)('%s: diffId hashes the tar, digest and size describe the file', async (compression, decompress) => {
      const src = path.join(work, 'src');
      buildTree(src);
      const plain = await packBytes({ dir: src });
      const dest = path.join(work, `out.${compression}`);
      const r = await packToFile({ dir: src }, dest, { compression });
      const file = fs.readFileSync(dest);
      const tar = decompress(file);
      expect(tar.equals(plain)).toBe(true);
      expect(r).toEqual({ diffId: sha256(plain), digest: sha256(file), size: file.length, uncompressedSize: plain.length, compression, entries: headers(plain).filter((h) => h.type !== 'x').length });
      if (compression === 'gzip') expect(file.readUInt32LE(4)).toBe(0); // no mtime in the gzip header
      if (compression === 'gzip') expect(run('sh', ['-c', `gzip -dc '${dest}' | sha256sum`]).toString().split(' ')[0]).toBe(r.diffId.slice(7));
    });
  });

  it('reports progress, and stops when aborted', async () => {
    const src = path.join(work, 'src');
    fs.mkdirSync(src);
    sparse(path.join(src, 'sparse'), 2 ** 30); // sparse: costs no disk
    const ac = new AbortController();
    const seen: number[] = [];
    const p = packToFile({ dir: src }, path.join(work, 'a.tar.gz'), {
      compression: 'gzip',
      signal: ac.signal,
      onProgress: (e) => {
        seen.push(e.bytes);
        ac.abort();
      },
    });
    await expect(p).rejects.toMatchObject({ code: 'LAYERFS_ABORTED' });
    expect(seen.length).toBeGreaterThan(0);
    expect(seen[0]).toBeGreaterThan(0);
  });

  it('fails, naming the file, when a file grows or shrinks while it is read', async () => {
    // /proc files stat as empty and read as text: the pack must refuse rather than write a corrupt tar
    await expect(packToFile({ root: '/', entries: [{ path: 'status', source: '/proc/self/status' }] }, path.join(work, 'p.tar'))).rejects.toMatchObject({
      code: 'LAYERFS_BAD_TAR',
      message: expect.stringMatching(/"status".*grew/),
    });
    const sys = '/sys/kernel/mm/transparent_hugepage/enabled';
    if (fs.existsSync(sys) && fs.statSync(sys).size > fs.readFileSync(sys).length) {
      await expect(packToFile({ root: '/', entries: [{ path: 'thp', source: sys }] }, path.join(work, 's.tar'))).rejects.toMatchObject({
        code: 'LAYERFS_BAD_TAR',
        message: expect.stringMatching(/"thp".*shrank/),
      });
    } else console.warn(`pack tests: ${sys} is missing or not oversized; the shrinking-file case is skipped`);
  });
});

describe('packStream', () => {
  it('streams the same bytes packToFile writes, and the result', async () => {
    const src = path.join(work, 'src');
    buildTree(src);
    const plain = await packBytes({ dir: src });
    for (const compression of ['none', 'gzip'] as const) {
      const s = packStream({ dir: src }, { compression });
      const chunks: Buffer[] = [];
      for await (const c of s) chunks.push(c as Buffer);
      const got = Buffer.concat(chunks);
      expect((compression === 'gzip' ? zlib.gunzipSync(got) : got).equals(plain)).toBe(true);
      const r = await s.result;
      expect(r.diffId).toBe(sha256(plain));
      expect(r.digest).toBe(sha256(got));
      expect(r.size).toBe(got.length);
    }
  });

  it('holds the worker back while the stream is not read', async () => {
    const src = path.join(work, 'src');
    fs.mkdirSync(src);
    sparse(path.join(src, 'sparse'), 256 * 2 ** 20);
    const s = packStream({ dir: src });
    await new Promise((resolve) => setTimeout(resolve, 1000)); // unpaced, the worker would have sent all 256 MiB by now
    expect(s.readableLength).toBeLessThanOrEqual(WINDOW);
    let total = 0;
    for await (const c of s) total += (c as Buffer).length;
    expect(total).toBe(256 * 2 ** 20 + 512 + 1024);
  });

  it('stops the worker when the consumer destroys the stream', async () => {
    const src = path.join(work, 'src');
    fs.mkdirSync(src);
    sparse(path.join(src, 'sparse'), 2 ** 30);
    const s = packStream({ dir: src });
    const first = await new Promise<Buffer>((resolve) => s.once('data', resolve));
    expect(first.length).toBeGreaterThan(0);
    s.destroy();
    await expect(s.result).rejects.toMatchObject({ code: 'LAYERFS_ABORTED' });
  });

  it('fails the stream with the worker error', async () => {
    const s = packStream({ dir: path.join(work, 'missing') });
    await expect(
      (async () => {
        for await (const _ of s) void _;
      })(),
    ).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

describe('explicit entries', () => {
  it('sorts them, and rejects duplicates and paths outside the layer', async () => {
    const src = path.join(work, 'src');
    fs.mkdirSync(path.join(src, 'd'), { recursive: true });
    fs.writeFileSync(path.join(src, 'd/f'), 'f');
    fs.writeFileSync(path.join(src, 'g'), 'g');
    const tar = await packBytes({ root: src, entries: [{ path: 'g' }, { path: 'd/f' }, { path: '/d' }] });
    expect(headers(tar).map((h) => h.name)).toEqual(['d/', 'd/f', 'g']);
    await expect(packToFile({ root: src, entries: [{ path: 'g' }, { path: './g' }] }, path.join(work, 'x.tar'))).rejects.toMatchObject({ code: 'LAYERFS_INVALID_ARGUMENT' });
    await expect(packToFile({ root: src, entries: [{ path: 'd/../../etc' }] }, path.join(work, 'x.tar'))).rejects.toMatchObject({ code: 'LAYERFS_INVALID_ARGUMENT' });
  });

  it('orders a list by path components; a confined tree is read only where each entry lies', async () => {
    const src = path.join(work, 'src');
    for (const d of ['a', 'a-b', 'a/b', 'B']) fs.mkdirSync(path.join(src, d), { recursive: true });
    for (const f of ['a/b/c', 'a.txt', 'a-b/x', 'a0']) fs.writeFileSync(path.join(src, f), f);
    const names = ['a-b/x', 'a/b/c', 'a.txt', 'a', 'a/b', 'a-b', 'B', 'a0'];
    const order = ['B/', 'a/', 'a/b/', 'a/b/c', 'a-b/', 'a-b/x', 'a.txt', 'a0'];
    expect(headers(await packBytes({ root: src, entries: names.map((p) => ({ path: p })) })).map((h) => h.name)).toEqual(order);
    // sources that are the entries' own paths, as strings or as bytes
    const own = names.map((p, i) => ({ path: p, source: i % 2 ? path.join(src, p) : Buffer.from(path.join(src, p)) }));
    expect(headers(await packBytes({ root: src, entries: own, confined: 'the test tree' })).map((h) => h.name)).toEqual(order);
    for (const source of [path.join(src, 'a0'), src + '//a.txt']) {
      await expect(packToFile({ root: src, entries: [{ path: 'a.txt', source }], confined: 'the test tree' }, path.join(work, 'x.tar'))).rejects.toMatchObject({ code: 'LAYERFS_INVALID_ARGUMENT', message: expect.stringContaining('must be read at') });
    }
    await expect(packToFile({ root: src, entries: [{ path: 'a0' }, { path: 'a0/' }] }, path.join(work, 'x.tar'))).rejects.toMatchObject({ message: expect.stringContaining('listed twice') });
  });

  it('reads each entry from its source path', async () => {
    const src = path.join(work, 'src');
    fs.mkdirSync(src);
    fs.writeFileSync(path.join(work, 'elsewhere'), 'content');
    const tar = path.join(work, 'e.tar');
    await packToFile({ root: src, entries: [{ path: 'etc/file', source: path.join(work, 'elsewhere') }] }, tar);
    const out = path.join(work, 'out');
    gnuExtract(tar, out);
    expect(fs.readFileSync(path.join(out, 'etc/file'), 'utf8')).toBe('content');
  });

  it('takes raw-byte paths', async () => {
    const src = path.join(work, 'src');
    fs.mkdirSync(src);
    const odd = Buffer.from([0x6e, 0xe9, 0xff]);
    fs.writeFileSync(Buffer.concat([Buffer.from(src + '/'), odd]), 'odd');
    const tar = path.join(work, 'raw.tar');
    await packToFile({ root: Buffer.from(src), entries: [{ path: odd }, { path: Buffer.concat([Buffer.from('gone-'), odd]), whiteout: true }] }, tar);
    expect(gnuNames(tar)).toEqual([Buffer.concat([Buffer.from('.wh.gone-'), odd]).toString('latin1'), odd.toString('latin1')]);
  });

  it('writes a hardlink only to a path inside the pack', async () => {
    const src = path.join(work, 'src');
    fs.mkdirSync(src);
    fs.writeFileSync(path.join(src, 'a'), 'x');
    fs.linkSync(path.join(src, 'a'), path.join(src, 'b'));
    fs.linkSync(path.join(src, 'a'), path.join(src, 'c'));
    const tar = await packBytes({ root: src, entries: [{ path: 'c' }, { path: 'b' }] });
    expect(headers(tar).map((h) => [h.name, h.type, h.linkname])).toEqual([
      ['b', '0', ''],
      ['c', '1', 'b'],
    ]);
  });
});
