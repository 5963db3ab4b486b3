import * as fs from 'fs';
import * as path from 'path';
import { randomBytes } from 'crypto';
import { spawnSync, SpawnSyncReturns } from 'child_process';
import { unmet } from '../fixtures/peers';
import { detectRootless, namespaceBlocker } from '../../lib/userns/detect';

/**
 * Real unprivileged users for the rootless tests: made with useradd (which gives a new user a
 * range in /etc/subuid and /etc/subgid on Debian, or none with SUB_UID_COUNT=0), used through
 * setpriv, and removed with userdel -r (after their store's holder process is ended).
 */
export interface TestUser {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

const REPO = path.resolve(__dirname, '../..');
export const CLI = path.join(REPO, 'bin', 'layerfs');
const TOOLS = ['root', 'addon', 'useradd', 'userdel', 'setpriv', 'unshare', 'nsenter', 'newuidmap', 'newgidmap'];

/** Every directory above `p` searchable by others and `p` readable by them: a new user can run the checkout's CLI. */
function readableByOthers(p: string): boolean {
  for (let d = path.dirname(p); ; d = path.dirname(d)) {
    if ((fs.statSync(d).mode & 0o001) === 0) return false;
    if (path.dirname(d) === d) break;
  }
  return (fs.statSync(p).mode & 0o004) !== 0;
}

/** Why the rootless tests cannot run here, or null. */
export function rootlessUnmet(): string | null {
  const why = unmet(TOOLS).map((w) => w.replace('newuidmap is not installed', 'newuidmap is not installed (apt-get install uidmap)').replace('newgidmap is not installed', 'newgidmap is not installed (apt-get install uidmap)'));
  if (why.length) return why.join('; ');
  const blocker = namespaceBlocker(detectRootless('/tmp'));
  if (blocker) return `user namespaces cannot be used here: ${blocker}`;
  for (const p of [CLI, path.join(REPO, 'dist', 'lib', 'cli', 'main.js'), path.join(REPO, 'node_modules', 'commander', 'package.json')]) {
    if (!readableByOthers(p)) return `${p} is not readable by other users, so a test user cannot run the checkout's CLI`;
  }
  return null;
}

/** A new user; `range: false` gives it no subordinate ids. */
export function makeUser(range: boolean): TestUser {
  const name = `lfs${range ? 'r' : 's'}${process.pid % 100000}${randomBytes(3).toString('hex')}`;
  const args = ['-m', '-s', '/bin/sh', ...(range ? [] : ['-K', 'SUB_UID_COUNT=0', '-K', 'SUB_GID_COUNT=0']), name];
  const r = spawnSync('useradd', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`useradd ${args.join(' ')}: ${r.stderr}`);
  const id = (flag: string) => Number(spawnSync('id', [flag, name], { encoding: 'utf8' }).stdout.trim());
  return { name, uid: id('-u'), gid: id('-g'), home: `/home/${name}` };
}

/** Ends the holder of every store of the user's (its pid from the store's userns.json; only that process), then userdel -r. */
export function removeUser(u: TestUser, stores: string[] = []): void {
  for (const s of [path.join(u.home, '.local/share/layerfs'), ...stores]) {
    try {
      const h = JSON.parse(fs.readFileSync(path.join(s, 'userns.json'), 'utf8')) as { pid: number; startTime: string };
      const stat = fs.readFileSync(`/proc/${h.pid}/stat`, 'latin1');
      if (stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] === h.startTime) {
        process.kill(h.pid, 'SIGKILL');
        // userdel refuses a user with a process, and a killed one takes a moment to go
        for (let i = 0; i < 300 && fs.existsSync(`/proc/${h.pid}/ns/mnt`); i++) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
      }
    } catch {
      // no holder, or gone
    }
  }
  for (let i = 0; i < 100; i++) {
    const r = spawnSync('userdel', ['-r', u.name], { encoding: 'utf8' });
    if (r.status === 0 || !/currently used by process/.test(r.stderr)) break;
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
  }
}

/** Runs a command as the user, from its home, with a clean environment. */
export function asUser(u: TestUser, cmd: string, args: string[], opts: { input?: string | Buffer; env?: Record<string, string> } = {}): SpawnSyncReturns<string> {
  const env = [`HOME=${u.home}`, `USER=${u.name}`, `LOGNAME=${u.name}`, `PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin`, 'NO_COLOR=1', ...Object.entries(opts.env ?? {}).map(([k, v]) => `${k}=${v}`)];
  return spawnSync('setpriv', ['--reuid', String(u.uid), '--regid', String(u.gid), '--init-groups', 'env', '-i', ...env, cmd, ...args], {
    cwd: u.home,
    encoding: 'utf8',
    input: opts.input,
    maxBuffer: 64 << 20,
  });
}

/** `layerfs ARGS` as the user. */
export function cliAs(u: TestUser, args: string[], opts: { input?: string | Buffer; env?: Record<string, string> } = {}): SpawnSyncReturns<string> {
  return asUser(u, process.execPath, [CLI, ...args], opts);
}

/** Writes a file the user owns in its home. */
export function giveFile(u: TestUser, name: string, data: Buffer | string): string {
  const p = path.join(u.home, name);
  fs.writeFileSync(p, data);
  fs.chownSync(p, u.uid, u.gid);
  return p;
}

/** `layerfs ARGS` as the user, bin/layerfs run as a command (its shell part may enter the namespace itself), from `cwd` (default: the home). */
export function binAs(u: TestUser, args: string[], opts: { env?: Record<string, string>; cwd?: string } = {}): SpawnSyncReturns<string> {
  const env = [`HOME=${u.home}`, `USER=${u.name}`, `PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin`, 'NO_COLOR=1', ...Object.entries(opts.env ?? {}).map(([k, v]) => `${k}=${v}`)];
  return spawnSync('setpriv', ['--reuid', String(u.uid), '--regid', String(u.gid), '--init-groups', 'env', '-i', ...env, CLI, ...args], { cwd: opts.cwd ?? u.home, encoding: 'utf8', maxBuffer: 64 << 20 });
}
