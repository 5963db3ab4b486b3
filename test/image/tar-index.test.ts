import * as fs from 'fs';
import * as path from 'path';
import * as zlib from 'zlib';
import { randomBytes } from 'crypto';
import { TarIndex } from '../../lib/image';
import { describeIf } from '../fixtures/peers';
import { useTempDir } from '../fixtures/tmp';
import { gnuTar, readAll } from './image-forms';

describeIf(['tar'])('TarIndex: an archive indexed by its headers, members read in place', () => {
  const tmp = useTempDir('tar-index');
  const long = `${'d'.repeat(90)}/${'e'.repeat(90)}/${'f'.repeat(120)}.bin`; // over ustar's 100+155
  const prefixed = `${'p'.repeat(80)}/${'q'.repeat(60)}`; // fits ustar only through its prefix field
  const files: Record<string, Buffer> = {
    'manifest.json': Buffer.from('[]'),
    'blobs/sha256/big': randomBytes(5 << 20 | 77),
    'empty': Buffer.alloc(0),
    [long]: randomBytes(1000),
    [prefixed]: randomBytes(513),
  };
  const names = ['blobs', 'blobs/sha256', ...Object.keys(files).filter((n) => n !== long), long.split('/')[0], long.split('/').slice(0, 2).join('/'), long, 'hard', 'soft', 'sub', 'sub/up'];

  const stage = () => {
    const dir = path.join(tmp(), 'stage');
    if (fs.existsSync(dir)) return dir;
    for (const [n, b] of Object.entries(files)) {
      fs.mkdirSync(path.dirname(path.join(dir, n)), { recursive: true });
      fs.writeFileSync(path.join(dir, n), b);
    }
    fs.linkSync(path.join(dir, 'blobs/sha256/big'), path.join(dir, 'hard'));
    fs.symlinkSync('blobs/sha256/big', path.join(dir, 'soft'));
    fs.mkdirSync(path.join(dir, 'sub'));
    fs.symlinkSync('../manifest.json', path.join(dir, 'sub/up'));
    return dir;
  };

  for (const format of ['gnu', 'pax'] as const) {
    test(`${format} format: long names, hardlinks and symlinks resolve to the bytes`, async () => {
      const file = path.join(tmp(), `${format}.tar`);
      gnuTar(stage(), file, names, format);
      const index = TarIndex.open(file);
      for (const [n, b] of Object.entries(files)) {
        const m = index.get(n);
        expect([n, m?.size]).toEqual([n, b.length]);
        if (!m) continue;
        expect((await readAll(index.open(m))).equals(b)).toBe(true);
      }
      expect(index.get('./manifest.json')).toEqual(index.get('manifest.json'));
      expect(index.get('hard')).toEqual(index.get('blobs/sha256/big'));
      expect(index.get('soft')).toEqual(index.get('blobs/sha256/big'));
      expect(index.get('sub/up')).toEqual(index.get('manifest.json'));
      expect(index.get('blobs')).toBeUndefined(); // a directory has no bytes
      expect(index.get('nope')).toBeUndefined();
      expect(index.read(index.get('manifest.json')!).toString()).toBe('[]');
    });
  }

  test('ustar: the prefix field is part of the name', async () => {
    const file = path.join(tmp(), 'ustar.tar');
    gnuTar(stage(), file, ['manifest.json', prefixed], 'ustar');
    const index = TarIndex.open(file);
    expect((await readAll(index.open(index.get(prefixed)!))).equals(files[prefixed])).toBe(true);
  });

  test('an archive without end-of-archive blocks is whole; one cut inside a member is not', () => {
    const file = path.join(tmp(), 'whole.tar');
    gnuTar(stage(), file, ['manifest.json', 'blobs/sha256/big'], 'gnu');
    const full = fs.readFileSync(file);
    const m = TarIndex.open(file).get('blobs/sha256/big')!;
    const end = m.offset + Math.ceil(m.size / 512) * 512;
    const noEof = path.join(tmp(), 'no-eof.tar');
    fs.writeFileSync(noEof, full.subarray(0, end));
    expect(TarIndex.open(noEof).get('blobs/sha256/big')).toEqual(m);
    const cut = path.join(tmp(), 'cut.tar');
    fs.writeFileSync(cut, full.subarray(0, m.offset + 1000));
    expect(() => TarIndex.open(cut)).toThrow(expect.objectContaining({ code: 'LAYERFS_BAD_IMAGE', message: expect.stringContaining('blobs/sha256/big') }));
  });

  test('not a tar, or a compressed one: a clear error', () => {
    const junk = path.join(tmp(), 'junk');
    fs.writeFileSync(junk, randomBytes(4096));
    expect(() => TarIndex.open(junk)).toThrow(/not a tar archive/);
    const file = path.join(tmp(), 'for-gzip.tar');
    gnuTar(stage(), file, ['manifest.json'], 'gnu');
    const gz = path.join(tmp(), 'x.tar.gz');
    fs.writeFileSync(gz, zlib.gzipSync(fs.readFileSync(file)));
    expect(() => TarIndex.open(gz)).toThrow(/gzip-compressed/);
    const two = path.join(tmp(), 'two.tar');
    gnuTar(stage(), two, ['manifest.json', 'empty'], 'gnu');
    const bad = fs.readFileSync(two);
    bad[1024 + 100] ^= 0x01; // the second header's mode: its checksum no longer matches
    fs.writeFileSync(two, bad);
    expect(() => TarIndex.open(two)).toThrow(/bad tar header at offset 1024/);
  });

  test('too many members for the caller: LimitExceededError', () => {
    const file = path.join(tmp(), 'many.tar');
    gnuTar(stage(), file, names, 'gnu');
    expect(() => TarIndex.open(file, { maxMembers: 3 })).toThrow(expect.objectContaining({ code: 'LAYERFS_LIMIT' }));
  });
});
