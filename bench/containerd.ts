/**
 * A private containerd daemon for the bench: its root (content store, snapshots) under the run's
 * scratch directory, on the same filesystem as the layerfs stores, and its state and socket beside
 * it (or in a short temporary path when the socket's path would pass the unix socket limit). A generated
 * config disables the CRI plugin and the snapshotters and plugins the bench does not use, so the
 * daemon needs no network and touches nothing of the machine's own containerd. It is started on
 * first use, once per run, and stopped (its mounts and directories removed) when the last group
 * that uses it is done, or when the process exits, whichever comes first. `ctr --address SOCK
 * -n bench ...` drives it (see `ctr`).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { spawn, spawnSync } from 'child_process';
import type { Ctx } from './common';
import { removeTree, sh, unmountUnder, why } from './common';

/** The image name the bench imports the oci-archive as (the index is kept under this name). */
export const CONTAINERD_IMAGE = 'bench';
/** The groups that use containerd, in the order the bench runs them. */
const USERS = ['import', 'container', 'registry'];

const config = (root: string, state: string, sock: string) => `version = 2
root = "${root}"
state = "${state}"
# the bench only imports, unpacks and prepares snapshots: no CRI (it would want a network), no
# tracing, no /opt plugin directory, and only the overlayfs and native snapshotters
disabled_plugins = [
  "io.containerd.grpc.v1.cri",
  "io.containerd.internal.v1.opt",
  "io.containerd.internal.v1.tracing",
  "io.containerd.tracing.processor.v1.otlp",
  "io.containerd.snapshotter.v1.aufs",
  "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.snapshotter.v1.zfs",
]

[grpc]
  address = "${sock}"

[ttrpc]
  address = "${sock}.ttrpc"

[debug]
  address = ""

[metrics]
  address = ""
`;

function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // a zombie still answers kill 0: it is gone all the same
  try {
    return !/^\d+ \(.*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

const sleep = (seconds: number) => spawnSync('sleep', [String(seconds)]);

export class Containerd {
  /** content store, metadata and snapshots: on the scratch filesystem, beside the layerfs stores */
  readonly root: string;
  /** runtime state and the socket: a short path */
  readonly state: string;
  readonly address: string;
  private readonly config: string;
  private readonly log: string;
  private pid: number | undefined;
  private failure: string | undefined;
  private stopped = false;
  private readonly unpacked = new Set<string>();

  constructor(work: string) {
    this.root = path.join(work, 'containerd');
    // state and socket beside the root when the socket's path is short enough, else in a short temporary path
    const short = os.tmpdir().length < 20 ? os.tmpdir() : '/tmp';
    this.state = path.join(work, 'containerd-state').length + '/containerd.sock.ttrpc'.length < 100 ? path.join(work, 'containerd-state') : path.join(short, `lfsb-${process.pid}-containerd`);
    this.address = path.join(this.state, 'containerd.sock');
    this.config = path.join(this.root, 'config.toml');
    this.log = path.join(this.root, 'containerd.log');
  }

  /** The ctr command line that talks to this daemon, in the bench's namespace. */
  get ctr(): string {
    return `ctr --address ${this.address} -n bench`;
  }

  /** Starts the daemon (once); returns why it cannot run here, or undefined when it runs. */
  start(): string | undefined {
    if (this.failure) return this.failure;
    if (this.stopped) return (this.failure = 'the bench stopped its containerd already');
    if (this.pid !== undefined) return undefined;
    try {
      if (process.getuid?.() !== 0) throw new Error('containerd needs root here');
      fs.mkdirSync(this.root, { recursive: true });
      fs.mkdirSync(this.state, { recursive: true });
      fs.writeFileSync(this.config, config(this.root, this.state, this.address));
      // a watchdog shell owns the daemon and ends it when this process goes away without stopping it
      const pidFile = path.join(this.state, 'containerd.pid');
      const script = [
        `containerd --config ${this.config} >${this.log} 2>&1 &`,
        'c=$!',
        `echo $c > ${pidFile}`,
        `while kill -0 ${process.pid} 2>/dev/null && kill -0 $c 2>/dev/null; do sleep 1; done`,
        'kill $c 2>/dev/null; wait $c',
      ].join('\n');
      const watchdog = spawn('bash', ['-c', script], { stdio: 'ignore', detached: true });
      watchdog.unref();
      for (let i = 0; i < 300; i++) {
        if (this.pid === undefined && fs.existsSync(pidFile)) this.pid = Number(fs.readFileSync(pidFile, 'utf8').trim()) || undefined;
        if (this.pid !== undefined && !running(this.pid)) throw new Error(`containerd exited at start: ${this.logTail()}`);
        if (fs.existsSync(this.address) && spawnSync('bash', ['-c', `${this.ctr} version`], { stdio: 'ignore', timeout: 10000 }).status === 0) return undefined;
        sleep(0.1);
      }
      throw new Error(`containerd did not answer on its socket within 30 s: ${this.logTail()}`);
    } catch (e) {
      this.failure = why(e);
      this.stop();
      return this.failure;
    }
  }

  private logTail(): string {
    try {
      const lines = fs.readFileSync(this.log, 'utf8').trim().split('\n');
      return lines.filter((l) => /level=(error|fatal)/.test(l)).pop() ?? lines.pop() ?? '';
    } catch {
      return 'no log';
    }
  }

  /**
   * The top snapshot (the image's ChainID) of the bench image unpacked with `snapshotter`,
   * importing the oci-archive first when it is not there; throws when that fails.
   */
  unpack(snapshotter: 'overlayfs' | 'native', archive: string, chain: string): string {
    const failed = this.start();
    if (failed) throw new Error(failed);
    const has = () => spawnSync('bash', ['-c', `${this.ctr} snapshots --snapshotter ${snapshotter} info ${chain}`], { stdio: 'ignore' }).status === 0;
    if (!this.unpacked.has(snapshotter) && !has()) {
      sh(this.importCommand(snapshotter, archive) + ' >/dev/null');
      if (!has()) throw new Error(`containerd unpacked the image but has no snapshot ${chain} (${snapshotter})`);
    }
    this.unpacked.add(snapshotter);
    return chain;
  }

  /** ctr's import + unpack of an oci-archive (the index kept as the image CONTAINERD_IMAGE). */
  importCommand(snapshotter: string, archive: string): string {
    return `${this.ctr} images import --snapshotter ${snapshotter} --no-unpack=false --index-name ${CONTAINERD_IMAGE} ${archive}`;
  }

  /** Removes every image and, synchronously, the content and snapshots nothing else references. */
  get emptyCommand(): string {
    return `for i in $(${this.ctr} images ls -q); do ${this.ctr} images rm --sync $i >/dev/null; done`;
  }

  /** Whether the daemon holds no content and no snapshots (each import run must start so). */
  isEmpty(): boolean {
    const content = sh(`${this.ctr} content ls -q`).trim();
    const snaps = ['overlayfs', 'native'].map((s) => sh(`${this.ctr} snapshots --snapshotter ${s} ls`).trim().split('\n').slice(1).join('')).join('');
    return !content && !snaps;
  }

  /** Forgets what was unpacked (after the import group emptied the daemon). */
  forget(): void {
    this.unpacked.clear();
  }

  /** Stops the daemon and removes its mounts and directories; safe to call more than once. */
  stop(): void {
    this.stopped = true;
    const pid = this.pid;
    this.pid = undefined;
    if (pid !== undefined && running(pid)) {
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        /* gone already */
      }
      for (let i = 0; i < 100 && running(pid); i++) sleep(0.1);
      if (running(pid)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          /* gone */
        }
        for (let i = 0; i < 50 && running(pid); i++) sleep(0.1);
      }
    }
    unmountUnder(this.root);
    unmountUnder(this.state);
    removeTree(this.root);
    removeTree(this.state);
  }
}

let daemon: { work: string; d: Containerd } | undefined;

/** The run's containerd (the daemon starts on first `start()`/`unpack()`). */
export function containerdFor(ctx: Ctx): Containerd {
  if (!daemon || daemon.work !== ctx.work) {
    const d = new Containerd(ctx.work);
    daemon = { work: ctx.work, d };
    // before the run's own exit cleanup (which removes the scratch directory this daemon writes to)
    process.prependListener('exit', () => d.stop());
    for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.prependListener(sig, () => d.stop());
  }
  return daemon.d;
}

/** The groups this run runs (from --only), in the bench's order. */
function groupsOfRun(): string[] {
  const i = process.argv.indexOf('--only');
  const only = i >= 0 ? process.argv[i + 1]?.split(',').map((s) => s.trim()) : undefined;
  return USERS.filter((g) => !only || only.includes(g));
}

/** Called by a group at its end: stops the daemon when no later group of this run uses it. */
export function doneWithContainerd(group: string): void {
  if (!daemon) return;
  // the groups after this one in the bench's order (an index into USERS, not into the run's own list:
  // with --only container,registry the run's list is shorter, and slicing it by USERS's index lost registry)
  const later = groupsOfRun().filter((g) => USERS.indexOf(g) > USERS.indexOf(group));
  if (!later.length) daemon.d.stop();
}
