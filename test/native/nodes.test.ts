import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as native from '../../lib/native';

const status = native.addonStatus();
const isRoot = process.getuid?.() === 0;
const itAddon = status.available ? it : it.skip;
const itRoot = status.available && isRoot ? it : it.skip;
if (!status.available) console.warn(`mknod/renameat2 tests skipped: the native addon is unavailable (${status.reason})`);
else if (!isRoot) console.warn('device-node and RENAME_WHITEOUT tests skipped: they need root');

const { S_IFCHR, S_IFIFO } = fs.constants;
const { RENAME_NOREPLACE, RENAME_EXCHANGE, RENAME_WHITEOUT } = native.constants;

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'layerfs-nodes-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('mknod', () => {
  itRoot('makes the overlay whiteout, a character device 0/0 (root)', () => {
    const p = path.join(dir, 'wh');
    native.mknodSync(p, S_IFCHR | 0o000, 0, 0);
    const st = fs.lstatSync(p);
    expect(st.isCharacterDevice()).toBe(true);
    expect(st.rdev).toBe(0);
  });

  itRoot('puts major and minor into rdev (root)', async () => {
    const p = path.join(dir, 'null');
    await native.mknod(p, S_IFCHR | 0o666, 1, 3);
    expect(fs.lstatSync(p).rdev).toBe((1 << 8) | 3);
  });

  itAddon('makes a fifo', () => {
    const p = path.join(dir, 'fifo');
    native.mknodSync(p, S_IFIFO | 0o640);
    const st = fs.lstatSync(p);
    expect(st.isFIFO()).toBe(true);
    expect(st.mode & 0o777).toBe(0o640 & ~process.umask());
    expect(() => native.mknodSync(p, S_IFIFO | 0o640)).toThrow(expect.objectContaining({ code: 'EEXIST', syscall: 'mknod', path: p }));
  });
});

describe('renameat2', () => {
  itAddon('RENAME_NOREPLACE fails with EEXIST when the target exists, like a Node fs error', async () => {
    const a = path.join(dir, 'a');
    const b = path.join(dir, 'b');
    fs.writeFileSync(a, 'A');
    fs.writeFileSync(b, 'B');
    const expected = {
      code: 'EEXIST',
      errno: -os.constants.errno.EEXIST,
      syscall: 'renameat2',
      path: a,
      dest: b,
      message: `EEXIST: file already exists, renameat2 '${a}' -> '${b}'`,
    };
    expect(() => native.renameat2Sync(a, b, RENAME_NOREPLACE)).toThrow(expect.objectContaining(expected));
    await expect(native.renameat2(a, b, RENAME_NOREPLACE)).rejects.toMatchObject(expected);
    expect(fs.readFileSync(b, 'utf8')).toBe('B');
    const c = path.join(dir, 'c');
    native.renameat2Sync(a, c, RENAME_NOREPLACE);
    expect(fs.readFileSync(c, 'utf8')).toBe('A');
    expect(fs.existsSync(a)).toBe(false);
  });

  itAddon('RENAME_EXCHANGE swaps two entries atomically', async () => {
    const a = path.join(dir, 'a');
    const b = path.join(dir, 'b');
    fs.writeFileSync(a, 'A');
    fs.mkdirSync(b);
    await native.renameat2(a, b, RENAME_EXCHANGE);
    expect(fs.statSync(a).isDirectory()).toBe(true);
    expect(fs.readFileSync(b, 'utf8')).toBe('A');
  });

  itRoot('RENAME_WHITEOUT leaves a whiteout where the source was (root)', () => {
    const a = path.join(dir, 'a');
    const b = path.join(dir, 'b');
    fs.writeFileSync(a, 'A');
    native.renameat2Sync(a, b, RENAME_WHITEOUT);
    const st = fs.lstatSync(a);
    expect(st.isCharacterDevice() && st.rdev === 0).toBe(true);
    expect(fs.readFileSync(b, 'utf8')).toBe('A');
  });
});
