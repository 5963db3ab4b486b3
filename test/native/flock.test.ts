import { spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as readline from 'readline';
import * as native from '../../lib/native';

const status = native.addonStatus();
const itAddon = status.available ? it : it.skip;
if (!status.available) console.warn(`flock tests skipped: the native addon is unavailable (${status.reason})`);

const { LOCK_EX, LOCK_NB, LOCK_SH, LOCK_UN } = native.constants;
const addonFile = path.resolve(__dirname, '../../native/build/Release/layerfs.node');

// Holds LOCK_EX on argv[1], says "locked", and lets go when its stdin closes.
const holder = `
const fs = require('fs');
const addon = require(process.argv[1]);
const fd = fs.openSync(process.argv[2], 'r');
addon.flockSync(fd, addon.constants.LOCK_EX);
process.stdout.write('locked\\n');
process.stdin.on('data', () => {}).on('end', () => process.exit(0));
`;

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'layerfs-flock-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('flock', () => {
  itAddon('excludes another process, fails fast with LOCK_NB, and waits off the main thread', async () => {
    const lockFile = path.join(dir, 'lock');
    fs.writeFileSync(lockFile, '');
    const child = spawn(process.execPath, ['-e', holder, addonFile, lockFile], { stdio: ['pipe', 'pipe', 'inherit'] });
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    const fd = fs.openSync(lockFile, 'r');
    try {
      const lines = readline.createInterface({ input: child.stdout! });
      const first = await new Promise<string>((resolve, reject) => {
        lines.once('line', resolve);
        child.once('exit', (code) => reject(new Error(`lock holder exited with ${code} before locking`)));
      });
      expect(first).toBe('locked');

      let caught: unknown;
      try {
        native.flockSync(fd, LOCK_EX | LOCK_NB);
      } catch (e) {
        caught = e;
      }
      // EWOULDBLOCK is EAGAIN on Linux; libuv names it EAGAIN.
      expect(caught).toMatchObject({ errno: -os.constants.errno.EWOULDBLOCK, syscall: 'flock' });
      expect(['EAGAIN', 'EWOULDBLOCK']).toContain((caught as native.NativeError).code);
      await expect(native.flock(fd, LOCK_SH | LOCK_NB)).rejects.toMatchObject({ errno: -os.constants.errno.EAGAIN });

      // The blocking lock waits on a pool thread while this thread goes on to release the holder.
      const acquired = native.flock(fd, LOCK_EX);
      child.stdin!.end();
      await acquired;
      expect(await exited).toBe(0);
      native.flockSync(fd, LOCK_UN);
    } finally {
      fs.closeSync(fd);
      child.kill();
    }
  });

  itAddon('reports a bad descriptor', () => {
    expect(() => native.flockSync(-1, LOCK_EX)).toThrow(expect.objectContaining({ code: 'EBADF', syscall: 'flock' }));
  });
});
