import * as fs from 'fs';
import * as path from 'path';
import { spawnSync } from 'child_process';
import { BLOCK, END_OF_ARCHIVE, type TarHeader } from '../../lib/tar/header';
import { encodeHeader, paxRecord, paxRecords, ustarBlock } from '../../lib/tar/writer';
import { makeTempDir, removeTempDir } from '../fixtures/tmp';

let work: string;
beforeEach(() => {
  work = makeTempDir('writer');
});
afterEach(() => removeTempDir(work));

const file = (over: Partial<TarHeader> = {}): TarHeader => ({ name: Buffer.from('f'), type: 'file', mode: 0o644, uid: 0, gid: 0, size: 0, mtime: 1_600_000_000, ...over });

const field = (b: Buffer, off: number, n: number) => {
  const s = b.subarray(off, off + n);
  const z = s.indexOf(0);
  return (z < 0 ? s : s.subarray(0, z)).toString('latin1');
};

/** The archive of the given headers with zero content (sizes must be 0 unless `allowShort`), listed by GNU tar. */
function gnuList(blocks: Buffer[], allowShort = false): { out: string; err: string; status: number | null } {
  const f = path.join(work, 'a.tar');
  fs.writeFileSync(f, Buffer.concat([...blocks, ...(allowShort ? [] : [END_OF_ARCHIVE])]));
  // GNU tar prints times in the local zone: the expected times are UTC
  const r = spawnSync('tar', ['--numeric-owner', '--full-time', '-tvf', f], { env: { ...process.env, TZ: 'UTC' } });
  return { out: r.stdout.toString('latin1'), err: r.stderr.toString(), status: r.status };
}

describe('ustar header', () => {
  it('writes octal fields, the ustar magic, no owner names, and a checksum GNU tar accepts', () => {
    const b = encodeHeader(file({ name: Buffer.from('etc/passwd'), mode: 0o4755, uid: 1000, gid: 100, size: 0, mtime: 1_700_000_000 }));
    expect(b.length).toBe(BLOCK);
    expect(field(b, 0, 100)).toBe('etc/passwd');
    expect(field(b, 100, 8)).toBe('0004755');
    expect(field(b, 108, 8)).toBe('0001750');
    expect(field(b, 116, 8)).toBe('0000144');
    expect(field(b, 124, 12)).toBe('00000000000');
    expect(field(b, 136, 12)).toBe((1_700_000_000).toString(8).padStart(11, '0'));
    expect(b.subarray(257, 265).toString('latin1')).toBe('ustar\x0000');
    expect(b.subarray(265, 329).every((x) => x === 0)).toBe(true); // uname, gname
    expect(b.subarray(345, 500).every((x) => x === 0)).toBe(true); // prefix never used
    let sum = 0;
    for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : b[i];
    expect(field(b, 148, 8)).toBe(sum.toString(8).padStart(6, '0'));
    expect(b[155]).toBe(0x20);
    const l = gnuList([b]);
    expect(l.err).toBe('');
    expect(l.out).toMatch(/^-rwsr-xr-x 1000\/100 +0 2023-11-14 22:13:20 etc\/passwd$/m);
  });

  it('writes device numbers and link targets', () => {
    const dev = encodeHeader(file({ name: Buffer.from('dev/null'), type: 'char', devmajor: 1, devminor: 3 }));
    expect(field(dev, 329, 8)).toBe('0000001');
    expect(field(dev, 337, 8)).toBe('0000003');
    const sym = encodeHeader(file({ name: Buffer.from('l'), type: 'symlink', mode: 0o777, linkname: Buffer.from('../target') }));
    expect(field(sym, 157, 100)).toBe('../target');
    const l = gnuList([dev, sym]);
    expect(l.err).toBe('');
    expect(l.out).toMatch(/^crw-r--r-- 0\/0 +1,3 .* dev\/null$/m);
    expect(l.out).toMatch(/^lrwxrwxrwx 0\/0 .* l -> \.\.\/target$/m);
  });
});

describe('PAX records', () => {
  it('counts the record length in bytes, its own digits included', () => {
    expect(paxRecord('path', 'abc').toString()).toBe('12 path=abc\n');
    // lengths that cross a digit boundary: 9 -> 10 bytes and 99 -> 100
    for (let n = 0; n < 120; n++) {
      const r = paxRecord('k', 'x'.repeat(n));
      expect(parseInt(r.toString('latin1'), 10)).toBe(r.length);
    }
    const bin = Buffer.from([0xff, 0x00, 0x0a, 0xc3]);
    const r = paxRecord('SCHILY.xattr.user.bin', bin);
    expect(parseInt(r.toString('latin1'), 10)).toBe(r.length);
    expect(r.subarray(r.length - 1 - bin.length, r.length - 1)).toEqual(bin);
  });

  it('are empty when ustar holds everything', () => {
    expect(paxRecords(file({ name: Buffer.from('a'.repeat(100)), linkname: Buffer.from('b'.repeat(100)), size: 8 * 2 ** 30 - 1, uid: 0o7777777 }))).toEqual([]);
    expect(encodeHeader(file({ name: Buffer.from('a'.repeat(100)) })).length).toBe(BLOCK);
  });

  it('hold a path longer than 100 bytes, and a long link target', () => {
    const long = 'd'.repeat(120) + '/' + 'f'.repeat(150);
    const target = 't'.repeat(200);
    const b = encodeHeader(file({ name: Buffer.from(long), type: 'symlink', linkname: Buffer.from(target) }));
    expect(field(b, 0, 100)).toBe(`PaxHeaders/${long}`.slice(0, 100));
    expect(field(b, 156, 1)).toBe('x');
    expect(field(b, 136, 12)).toBe('00000000000');
    const body = b.subarray(BLOCK, BLOCK + parseInt(field(b, 124, 12), 8)).toString();
    expect(body).toBe(paxRecord('path', long).toString() + paxRecord('linkpath', target).toString());
    const l = gnuList([b]);
    expect(l.err).toBe('');
    expect(l.out).toContain(`${long} -> ${target}`);
  });

  it('carry a long path that is not UTF-8 byte for byte, and GNU tar reads its bytes', () => {
    const name = Buffer.concat([Buffer.from('x'.repeat(120) + '/'), Buffer.from([0xff, 0xfe, 0x41])]);
    const b = encodeHeader(file({ name: name }));
    const body = b.subarray(BLOCK, BLOCK + parseInt(field(b, 124, 12), 8));
    expect(body).toEqual(paxRecord('path', name));
    const r = spawnSync('tar', ['--quoting-style=literal', '-tf', '-'], { input: Buffer.concat([b, END_OF_ARCHIVE]) });
    expect(r.stderr.toString()).toBe('');
    expect(r.stdout).toEqual(Buffer.concat([name, Buffer.from('\n')]));
  });

  it('carry a size of 8 GiB or more, with the GNU base-256 size in the ustar field too', () => {
    const size = 9 * 2 ** 30 + 3;
    const b = encodeHeader(file({ name: Buffer.from('huge'), size }));
    const ustar = b.subarray(b.length - BLOCK);
    expect(ustar[124]).toBe(0x80);
    expect(ustar.readBigUInt64BE(128)).toBe(BigInt(size));
    const body = b.subarray(BLOCK, BLOCK + parseInt(field(b, 124, 12), 8)).toString();
    expect(body).toBe(paxRecord('size', String(size)).toString());
    // GNU tar lists the entry from its header, then stops at the missing content
    const l = gnuList([b], true);
    expect(l.out).toMatch(new RegExp(`^-rw-r--r-- 0/0 +${size} .* huge$`, 'm'));
    expect(l.status).not.toBe(0);
  });

  it('carry uids, gids and mtimes that octal cannot hold', () => {
    const b = encodeHeader(file({ uid: 3_000_000, gid: 4_000_000, mtime: -86400 }));
    const body = b.subarray(BLOCK, BLOCK + parseInt(field(b, 124, 12), 8)).toString();
    expect(body).toBe(['uid', 'gid', 'mtime'].map((k, i) => paxRecord(k, String([3_000_000, 4_000_000, -86400][i])).toString()).join(''));
    const ustar = b.subarray(b.length - BLOCK);
    expect(ustar[108]).toBe(0x80);
    expect(ustar.readUInt32BE(112)).toBe(3_000_000);
    expect(ustar[136]).toBe(0xff); // negative base-256
    expect(ustar.readBigInt64BE(140)).toBe(-86400n);
    const l = gnuList([b]);
    expect(l.err).toBe('');
    expect(l.out).toMatch(/^-rw-r--r-- 3000000\/4000000 +0 1969-12-31 00:00:00 f$/m);
  });

  it('write xattrs sorted by name, values byte for byte', () => {
    const cap = Buffer.from('0100000201000000000000000000000000000000', 'hex');
    const b = encodeHeader(file({ xattrs: [['user.z', Buffer.from('last')], ['security.capability', cap], ['user.a', Buffer.from([0, 1, 2, 0xff])]] }));
    const body = b.subarray(BLOCK, BLOCK + parseInt(field(b, 124, 12), 8));
    expect(body).toEqual(Buffer.concat([paxRecord('SCHILY.xattr.security.capability', cap), paxRecord('SCHILY.xattr.user.a', Buffer.from([0, 1, 2, 0xff])), paxRecord('SCHILY.xattr.user.z', 'last')]));
    expect(gnuList([b]).err).toBe('');
  });

  it('name the PAX header entry after the path, without a trailing slash', () => {
    const dir = 'd'.repeat(150) + '/';
    const b = encodeHeader(file({ name: Buffer.from(dir), type: 'dir', mode: 0o755 }));
    expect(field(b, 0, 100)).toBe(('PaxHeaders/' + dir.slice(0, -1)).slice(0, 100));
    expect(field(b, 100, 8)).toBe('0000644');
    const l = gnuList([b]);
    expect(l.err).toBe('');
    expect(l.out).toMatch(new RegExp(`^drwxr-xr-x 0/0 +0 .* ${dir}$`, 'm'));
  });

  it('builds a header block from raw fields', () => {
    const b = ustarBlock({ name: Buffer.from('x'), type: '0', mode: 0o100644, uid: 0, gid: 0, size: 5, mtime: 0 });
    expect(field(b, 100, 8)).toBe('0000644'); // file type bits never leak into mode
    expect(field(b, 124, 12)).toBe('00000000005');
  });
});
