import * as fs from 'fs';
import * as path from 'path';
import * as native from '../native';
import { UserNamespaceError } from '../errors';
import { IdMap, mapArgs, readIdMaps, sameMap, describeMap } from './idmap';
import type { MappingPlan, RootlessFacts } from './detect';
import { lazy } from '../lazy';

// every store open asks holderMismatch: child_process (and net and the streams with it) loads only to start or map a holder
const childProcess = lazy<typeof import('child_process')>(() => require('child_process'));

/**
 * The process that holds a store's user and mount namespace, as podman's pause process does.
 * Node is multithreaded, so unshare(CLONE_NEWUSER) is refused in-process; `unshare(1)` makes a
 * user and a mount namespace and execs `sleep infinity` there, and this side writes the mapping
 * (newuidmap and newgidmap, or the single line an unprivileged process may write itself).
 * Everything that touches the store's files then runs in it through nsenter (lib/userns/enter.ts),
 * so mounts made by one command are seen by the next. It lives until killed or the machine
 * restarts; its record says which process it is (pid, start time and namespace inode: a reused
 * pid is not taken for it).
 */
export interface HolderRecord {
  pid: number;
  startTime: string;
  /** readlink of /proc/PID/ns/user: `user:[4026532178]` */
  userNs: string;
  uids: IdMap;
  gids: IdMap;
}

export const HOLDER_FILE = 'userns.json';
/**
 * `PID START-TIME`, for bin/layerfs: its shell part reads it (no JSON parser there), checks the
 * process against /proc and enters the namespace with nsenter, so that Node starts once. Written
 * after HOLDER_FILE, removed when the holder is stopped.
 */
export const HOLDER_PID_FILE = 'userns.pid';
const LOCK_FILE = 'userns.lock';

/**
 * Set by bin/layerfs when it entered a holder's namespace itself: the store it took from the
 * command line, which the store that is opened must be (holderMismatch).
 */
export const ENTERED_ENV = 'LAYERFS_USERNS_ENTERED';

export function holderFile(storeDir: string): string {
  return path.join(storeDir, HOLDER_FILE);
}

export function holderPidFile(storeDir: string): string {
  return path.join(storeDir, HOLDER_PID_FILE);
}

/** The start time of a live process (null for one that is gone, or dead and not yet reaped). */
export function processStartTime(pid: number): string | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (fields[0] === 'Z' || fields[0] === 'X') return null;
    return fields[19] ?? null;
  } catch {
    return null;
  }
}

function nsOf(pid: number | 'self'): string | null {
  try {
    return fs.readlinkSync(`/proc/${pid}/ns/user`);
  } catch {
    return null;
  }
}

export function readHolder(storeDir: string): HolderRecord | null {
  try {
    return JSON.parse(fs.readFileSync(holderFile(storeDir), 'utf8')) as HolderRecord;
  } catch {
    return null;
  }
}

/** The store's holder when it is alive and still the process the record names, else null. */
export function liveHolder(storeDir: string): HolderRecord | null {
  const h = readHolder(storeDir);
  if (!h || processStartTime(h.pid) !== h.startTime || nsOf(h.pid) !== h.userNs) return null;
  // an exiting process drops its mount namespace first (its user namespace goes with its credentials, later): nsenter could not enter it
  if (!fs.existsSync(`/proc/${h.pid}/ns/mnt`)) return null;
  return h;
}

/** This process runs in that holder's user namespace. */
export function insideHolder(h: HolderRecord): boolean {
  return nsOf('self') === h.userNs;
}

async function withHolderLock<T>(storeDir: string, fn: () => Promise<T>): Promise<T> {
  const fd = fs.openSync(path.join(storeDir, LOCK_FILE), 'a', 0o600);
  try {
    await native.pollFlock(fd, native.constants.LOCK_EX, 20);
    return await fn();
  } finally {
    fs.closeSync(fd);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The live holder of the store, started (with `plan`'s mapping) when there is none. One per store, whoever races. */
export function ensureHolder(storeDir: string, facts: RootlessFacts, plan: MappingPlan, probe: (h: HolderRecord) => string | null): Promise<HolderRecord> {
  const live = liveHolder(storeDir);
  if (live) return Promise.resolve(live);
  return withHolderLock(storeDir, async () => liveHolder(storeDir) ?? startHolder(storeDir, facts, plan, probe));
}

/**
 * Starts a holder, writes its mapping, and runs the behavioural probe in it before its record is
 * written: a holder whose namespace cannot mount a working overlay is ended (UserNamespaceError).
 */
async function startHolder(storeDir: string, facts: RootlessFacts, plan: MappingPlan, probe: (h: HolderRecord) => string | null): Promise<HolderRecord> {
  const own = nsOf('self');
  const sleepBin = ['/usr/bin/sleep', '/bin/sleep'].find((p) => fs.existsSync(p)) ?? 'sleep';
  // detached: its own session, so a Ctrl-C of the command that started it does not end it
  const child = childProcess().spawn(facts.unshare!, ['--user', '--mount', '--propagation', 'private', '--', sleepBin, 'infinity'], { detached: true, stdio: 'ignore', cwd: '/' });
  const pid = child.pid;
  child.unref();
  if (pid === undefined) throw new UserNamespaceError(`could not start ${facts.unshare} to hold the user namespace`);
  try {
    let ns: string | null = own;
    for (let waited = 0; ns === own; waited += 5) {
      if (child.exitCode !== null || waited > 10_000) throw new UserNamespaceError(`${facts.unshare} --user --mount did not make a user namespace (it ${child.exitCode !== null ? `exited with ${child.exitCode}` : 'took over 10 s'})`);
      await sleep(5);
      ns = nsOf(pid);
    }
    writeMaps(pid, facts, plan);
    const got = readIdMaps(pid);
    if (!sameMap(got.uids, plan.uids) || !sameMap(got.gids, plan.gids)) {
      throw new UserNamespaceError(`the holder's mapping is uids ${describeMap(got.uids)}, gids ${describeMap(got.gids)}; wanted uids ${describeMap(plan.uids)}, gids ${describeMap(plan.gids)}`);
    }
    const rec: HolderRecord = { pid, startTime: processStartTime(pid)!, userNs: ns!, uids: plan.uids, gids: plan.gids };
    const failed = probe(rec);
    if (failed) throw new UserNamespaceError(failed);
    const tmp = `${holderFile(storeDir)}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(rec, null, 2) + '\n', { mode: 0o600 });
    fs.renameSync(tmp, holderFile(storeDir));
    fs.writeFileSync(tmp, `${rec.pid} ${rec.startTime}\n`, { mode: 0o600 });
    fs.renameSync(tmp, holderPidFile(storeDir));
    return rec;
  } catch (e) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone already
    }
    throw e;
  }
}

function writeMaps(pid: number, facts: RootlessFacts, plan: MappingPlan): void {
  if (plan.single) {
    // an unprivileged process may map its own ids, once setgroups is denied
    fs.writeFileSync(`/proc/${pid}/uid_map`, mapArgs(plan.uids).join(' ') + '\n');
    fs.writeFileSync(`/proc/${pid}/setgroups`, 'deny');
    fs.writeFileSync(`/proc/${pid}/gid_map`, mapArgs(plan.gids).join(' ') + '\n');
    return;
  }
  for (const [tool, map] of [
    [facts.newuidmap.path!, plan.uids],
    [facts.newgidmap.path!, plan.gids],
  ] as const) {
    const r = childProcess().spawnSync(tool, [String(pid), ...mapArgs(map)], { encoding: 'utf8' });
    if (r.status !== 0) throw new UserNamespaceError(`${tool} ${pid} ${mapArgs(map).join(' ')} failed: ${(r.stderr || r.error?.message || `exit ${r.status}`).trim()}`);
  }
}

/** Ends the store's holder (its mounts go with it). Returns whether one was running. */
export function stopHolder(storeDir: string): boolean {
  const h = liveHolder(storeDir);
  fs.rmSync(holderPidFile(storeDir), { force: true });
  if (!h) return false;
  process.kill(h.pid, 'SIGKILL');
  return true;
}

/**
 * For a process that bin/layerfs started inside a holder's namespace (ENTERED_ENV set): why it
 * must not open the store at `root` (a store other than the one the shell found on the command
 * line, or one whose live holder is not the namespace this process is in), or null.
 */
export function holderMismatch(root: string, env: NodeJS.ProcessEnv = process.env): string | null {
  const entered = env[ENTERED_ENV];
  if (entered === undefined) return null;
  if (path.resolve(entered) !== root) {
    return `bin/layerfs entered the user namespace of the store ${path.resolve(entered)}, but the command opens the store ${root}: give the store once, as --store DIR before the command or as LAYERFS_STORE`;
  }
  const h = liveHolder(root);
  if (!h) return `bin/layerfs entered a user namespace for the store ${root}, whose holder process is gone now: run the command again`;
  if (!insideHolder(h)) return `bin/layerfs entered a user namespace for the store ${root} that is not its holder's (pid ${h.pid}, ${h.userNs}): run the command again`;
  return null;
}
