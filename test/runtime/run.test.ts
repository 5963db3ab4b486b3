import * as fs from 'fs';
import * as path from 'path';
import { PassThrough } from 'stream';
import { spawn, spawnSync } from 'child_process';
import { LayerStore } from '../../lib/layer-store';
import { writeImage } from '../../lib/image';
import type { Container } from '../../lib/container';
import type { DriverName } from '../../lib/container/types';
import type { ImageConfig } from '../../lib/oci/image-config';
import { canMount, cleanup, mountedUnder, tempDir } from '../drivers/helpers';
import { describeIf, whichTool } from '../fixtures/peers';
import { busyboxUnmet, importBusyboxLayer } from '../fixtures/busybox';
import { CLI, layerfs } from '../cli/run-cli';
import * as os from 'os';

/*
 * Processes really run, by runc, in containers of a busybox root filesystem (no network needed):
 * what they print and how they end, the image config's process, and what the runtime leaves
 * behind kept out of diff and commit.
 */

const describeRun = busyboxUnmet() === null ? describeIf(['root', 'addon', 'runc']) : describeIf(false, busyboxUnmet()!);

const config = (c: ImageConfig['config']): ImageConfig => ({ rootfs: { type: 'layers', diff_ids: [] }, os: 'linux', architecture: 'amd64', config: c });

/** Runs and collects what the process printed. */
async function runCollect(c: Container, args: string[], opts: Parameters<Container['run']>[1] = {}): Promise<{ exitCode: number; signal: string | null; out: string; err: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d) => (out += d));
  stderr.on('data', (d) => (err += d));
  const r = await c.run(args, { stdin: 'ignore', ...opts, stdout, stderr });
  return { ...r, out, err };
}

let work: string;
let store: LayerStore;
let base: string;

describeRun('run: processes in containers, by runc', () => {
  beforeAll(async () => {
    work = tempDir('runtime');
    store = await LayerStore.open(path.join(work, 'store'));
    base = await importBusyboxLayer(store, work);
  });
  afterAll(() => cleanup(work));

  describe.each<DriverName>(canMount ? ['overlay', 'copy'] : ['copy'])('%s driver', (driver) => {
    const make = (image?: ImageConfig) => store.createContainer(base, { driver, image: image ? { config: image } : undefined });

    test('output and exit codes, a signal death, stdin piped in', async () => {
      const c = await make();
      try {
        expect(await runCollect(c, ['sh', '-c', 'echo out; echo err >&2; exit 7'])).toEqual({ exitCode: 7, signal: null, out: 'out\n', err: 'err\n' });
        expect(await runCollect(c, ['true'])).toMatchObject({ exitCode: 0, signal: null });
        // (the process is init of its pid namespace: only a signal from outside, through the runtime, can kill it)
        const stdout = new PassThrough();
        let kill: ((s: NodeJS.Signals) => void) | undefined;
        stdout.once('data', () => kill!('SIGKILL'));
        expect(await c.run(['sh', '-c', 'echo started; exec sleep 60'], { stdin: 'ignore', stdout, onStarted: (k) => (kill = k) })).toEqual({ exitCode: 137, signal: 'SIGKILL' });
        const stdin = new PassThrough();
        stdin.end('piped in\n');
        expect(await runCollect(c, ['cat'], { stdin })).toMatchObject({ exitCode: 0, out: 'piped in\n' });
        expect(c.refresh().isMounted()).toBe(false); // unmounted afterwards
        expect(c.record.runtime).toBeUndefined();
      } finally {
        await c.remove();
      }
    });

    test('the process comes from the image config: Entrypoint with Cmd, each override, Env, WorkingDir, User', async () => {
      const c = await make(config({ Entrypoint: ['sh', '-c'], Cmd: ['echo "$0 $GREETING $(pwd) $(id -u):$(id -g)"'], Env: ['GREETING=hello'], WorkingDir: '/tmp', User: 'nobody' }));
      try {
        expect((await runCollect(c, [])).out).toBe('sh hello /tmp 65534:65534\n');
        // CMD given replaces the Cmd
        expect((await runCollect(c, ['echo cmd $GREETING'])).out).toBe('cmd hello\n');
        // --entrypoint replaces the Entrypoint (and the Cmd goes with it)
        expect((await runCollect(c, ['-n', 'x'], { entrypoint: ['echo'] })).out).toBe('x');
        expect((await runCollect(c, ['id'], { entrypoint: [], user: '1000:1000' })).out).toBe('uid=1000(user) gid=1000(user)\n');
        expect((await runCollect(c, [], { env: ['GREETING=bye'], workdir: '/', user: 'root' })).out).toBe('sh bye / 0:0\n');
        // an unknown user is refused before anything runs
        await expect(c.run([], { user: 'ghost' })).rejects.toMatchObject({ code: 'LAYERFS_NOT_FOUND', message: expect.stringContaining('"ghost"') });
      } finally {
        await c.remove();
      }
    });

    test('--read-only: a write fails with EROFS', async () => {
      const c = await make();
      try {
        const r = await runCollect(c, ['sh', '-c', 'echo x > /x'], { readOnly: true });
        expect(r.exitCode).not.toBe(0);
        expect(r.err).toMatch(/Read-only file system/);
        expect(await c.diff()).toEqual([]);
      } finally {
        await c.remove();
      }
    });

    test('the diff after a run shows only what the process wrote; a commit carries it to the next container', async () => {
      const c = await make();
      try {
        await runCollect(c, ['sh', '-c', 'echo x > /x; mkdir -p /srv/data; echo y > /srv/data/y']);
        expect((await c.diff()).map((ch) => `${ch.kind} ${ch.path}`)).toEqual(['A /srv', 'A /srv/data', 'A /srv/data/y', 'A /x']);
        const layer = await c.commit({ compression: 'none' });
        const listing = spawnSync('tar', ['-tf', store.paths.blob(layer.digest)], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean);
        expect(listing.sort()).toEqual(['srv/', 'srv/data/', 'srv/data/y', 'x']);
        const next = await store.createContainer(layer.chainId, { driver });
        try {
          expect((await runCollect(next, ['cat', '/x', '/srv/data/y'])).out).toBe('x\ny\n');
          expect(await next.diff()).toEqual([]);
        } finally {
          await next.remove();
        }
      } finally {
        await c.remove();
      }
    });

    test('a run of nothing but `true` is no change; a mountpoint the process changed is one', async () => {
      const c = await make();
      try {
        await runCollect(c, ['true']);
        expect(await c.diff()).toEqual([]);
        // a working directory the image lacks is made for the runtime: not a change, unless the process writes in it
        await runCollect(c, ['true'], { workdir: '/work' });
        expect(await c.diff()).toEqual([]);
        await runCollect(c, ['sh', '-c', 'echo n > /work/out'], { workdir: '/work' });
        expect((await c.diff()).map((ch) => `${ch.kind} ${ch.path}`)).toEqual(['A /work', 'A /work/out']);
      } finally {
        await c.remove();
      }
    });
  });

  test('bundle: `runc run --bundle DIR` runs it as it is', async () => {
    const c = await store.createContainer(base, { name: 'bundled' });
    const dir = path.join(work, 'bundle');
    try {
      const r = layerfs(['--store', store.root, 'bundle', 'bundled', dir, 'sh', '-c', 'echo from runc; echo b > /b']);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const spec = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
      expect(spec.root.path).toBe(c.refresh().path);
      expect(spec.process.args).toEqual(['sh', '-c', 'echo from runc; echo b > /b']);
      const run = spawnSync(whichTool('runc')!, ['run', '--bundle', dir, `layerfs-test-${process.pid}`], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
      expect(run.stderr).toBe('');
      expect(run.stdout).toBe('from runc\n');
      expect((await c.diff()).map((ch) => `${ch.kind} ${ch.path}`)).toEqual(['A /b']);
    } finally {
      await c.remove();
    }
  });

  describe('the command line', () => {
    const cli = (args: string[], opts?: Parameters<typeof layerfs>[1]) => layerfs(['--store', store.root, ...args], opts);

    test('exit code and output pass through; stdin too; --rm leaves nothing in the store', () => {
      const before = fs.readdirSync(store.paths.containersDir).sort();
      const r = cli(['run', '--rm', base, '--', 'sh', '-c', 'cat; echo done; exit 5'], { input: 'in\n' });
      expect(r.stderr).toBe('');
      expect(r.stdout).toBe('in\ndone\n');
      expect(r.code).toBe(5);
      expect(fs.readdirSync(store.paths.containersDir).sort()).toEqual(before);
      expect(mountedUnder(store.root)).toEqual([]);
      // a named one leaves no claim on its name either
      const names = () => (fs.existsSync(store.paths.containerNamesDir) ? fs.readdirSync(store.paths.containerNamesDir).sort() : []);
      const namesBefore = names();
      expect(cli(['run', '--rm', '--name', 'gone-after', base, '--', 'true']).code).toBe(0);
      expect(names()).toEqual(namesBefore.filter((n) => n !== 'gone-after'));
      expect(fs.readdirSync(store.paths.containersDir).sort()).toEqual(before);
    });

    test('--commit prints the new ChainID (on stderr: stdout is the process\'s), and a run of it reads the file', () => {
      const r = cli(['run', '--rm', '--commit', base, '--', 'sh', '-c', 'echo kept > /kept']);
      expect(r.code).toBe(0);
      const chain = r.stderr.trim();
      expect(chain).toMatch(/^sha256:[0-9a-f]{64}$/);
      expect(cli(['run', '--rm', chain, '--', 'cat', '/kept']).stdout).toBe('kept\n');
    });

    test('--tty gives the process a terminal', () => {
      if (!whichTool('script')) return console.warn('skipped --tty: script is not installed (apt-get install bsdutils)');
      const line = [process.execPath, CLI, '--store', store.root, 'run', '--rm', '-t', base, 'sh', '-c', 'test -t 0 && test -t 1 && echo on-a-tty'].map((a) => `'${a}'`).join(' ');
      const r = spawnSync('script', ['-qec', line, '/dev/null'], { encoding: 'utf8', input: '' });
      expect(r.stdout).toContain('on-a-tty');
      expect(r.status).toBe(0);
      // without -t, no terminal, even when ours is one
      const plain = spawnSync('script', ['-qec', line.replace(" '-t'", ''), '/dev/null'], { encoding: 'utf8', input: '' });
      expect(plain.stdout).not.toContain('on-a-tty');
    });

    test('an image path and an imported image run their config\'s process; the container keeps the config', async () => {
      const layer = store.getLayerSync(base);
      const layout = path.join(work, 'layout');
      await writeImage(layout, {
        format: 'oci',
        tag: 'v1',
        config: { ...config({ Entrypoint: ['sh', '-c'], Cmd: ['echo "image says $WHO from $(pwd)"'], Env: ['WHO=config'], WorkingDir: '/tmp' }), rootfs: { type: 'layers', diff_ids: [layer.diffId] } },
        layers: [{ descriptor: { mediaType: layer.mediaType, digest: layer.digest, size: layer.size }, open: () => fs.createReadStream(store.paths.blob(layer.digest)) }],
      });
      const byPath = cli(['run', '--rm', `${layout}:v1`]);
      expect(byPath.stderr).toBe('');
      expect(byPath.stdout).toBe('image says config from /tmp\n');
      expect(cli(['image', 'import', `${layout}:v1`, '--name', 'bb']).code).toBe(0);
      expect(cli(['run', '--rm', '-e', 'WHO=flag', 'bb']).stdout).toBe('image says flag from /tmp\n');
      // a kept container remembers its image's config for the next run
      expect(cli(['run', '--name', 'kept-config', 'bb', 'echo first']).stdout).toBe('first\n');
      expect(cli(['run', 'kept-config']).stdout).toBe('image says config from /tmp\n');
      expect(cli(['rm', 'kept-config']).code).toBe(0);
    });

    test('--entrypoint, --workdir, --user and --env reach the process, in long form (read without commander) and short form', () => {
      const show = ['-c', 'echo "$A $(pwd) $(id -u):$(id -g)"'];
      const long = cli(['run', '--rm', '--entrypoint', 'sh', '--workdir', '/tmp', '--user', '1000:1000', '--env', 'A=long', base, ...show]);
      expect(long.stderr).toBe('');
      expect(long.stdout).toBe('long /tmp 1000:1000\n');
      const short = cli(['run', '--rm', '-e', 'A=short', '-e', 'B=2', '-w', '/', '-u', 'nobody', '--entrypoint', '["sh"]', base, ...show]);
      expect(short.stdout).toBe('short / 65534:65534\n');
      // after the image, options are the command's own
      expect(cli(['run', '--rm', base, 'echo', '--rm', '-e', 'x']).stdout).toBe('--rm -e x\n');
      // --read-only from the command line too
      const ro = cli(['run', '--rm', '--read-only', base, 'sh', '-c', 'echo x > /x']);
      expect(ro.code).not.toBe(0);
      expect(ro.stderr).toMatch(/Read-only file system/);
    });

    test('--json gives one document with the exit code', () => {
      const r = cli(['--json', 'run', '--rm', base, '--', 'true']);
      expect(r.code).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({ exitCode: 0, signal: null });
    });

    test('usage errors exit 2: no command, bad --entrypoint, bad -e; nothing is left', () => {
      const before = fs.readdirSync(store.paths.containersDir).sort();
      const none = cli(['run', '--rm', base]);
      expect(none.code).toBe(2);
      expect(none.stderr).toMatch(/no command to run/);
      expect(cli(['run', '--rm', '--entrypoint', '["sh",', base, 'x']).code).toBe(2);
      expect(cli(['run', '--rm', '-e', 'NOEQUALS', base, 'true']).code).toBe(2);
      expect(fs.readdirSync(store.paths.containersDir).sort()).toEqual(before);
    });

    test('a missing runtime is a clear error naming what to install, and nothing is left', () => {
      const before = fs.readdirSync(store.paths.containersDir).sort();
      const r = cli(['run', '--rm', '--runtime', 'crun-that-is-not-here', base, 'true']);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/crun-that-is-not-here was not found/);
      expect(fs.readdirSync(store.paths.containersDir).sort()).toEqual(before);
      const runc = cli(['run', '--rm', '--runtime', 'runc', base, 'true'], { env: { PATH: '/nonexistent' } });
      // runc lives in sbin, which is searched whatever PATH says
      expect(runc.code).toBe(0);
    });

    test('a runtime that fails to start: its own message, and the container as it was', async () => {
      const c = await store.createContainer(base, { name: 'failing' });
      try {
        const r = cli(['run', 'failing', '--', '/no/such/program']);
        expect(r.code).not.toBe(0);
        expect(r.stderr).toMatch(/no such file or directory/i);
        expect(await c.refresh().diff()).toEqual([]);
        expect(c.isMounted()).toBe(false);
      } finally {
        await c.remove();
      }
    });

    test('kill -9 of `layerfs run` leaves a container that `rm` cleans up, with no stale mount', async () => {
      const name = `killed-${process.pid}`;
      const child = spawn(process.execPath, [CLI, '--store', store.root, 'run', '--name', name, base, '--', 'sh', '-c', 'echo started; sleep 60'], { stdio: ['ignore', 'pipe', 'pipe'] });
      await new Promise<void>((resolve, reject) => {
        child.stdout.on('data', (d: Buffer) => d.toString().includes('started') && resolve());
        child.once('exit', () => reject(new Error('layerfs run ended early')));
      });
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
      const c = await store.getContainer(name);
      expect(c.record.runtime).toBeDefined();
      const rm = cli(['rm', name]);
      expect(rm.stderr).toBe('');
      expect(rm.code).toBe(0);
      expect(mountedUnder(store.root)).toEqual([]);
      expect(spawnSync(whichTool('runc')!, ['state', c.record.runtime!.id]).status).not.toBe(0);
    });

    test('SIGTERM to `layerfs run` reaches the process, and the exit code says so', async () => {
      const child = spawn(process.execPath, [CLI, '--store', store.root, 'run', '--rm', base, '--', 'sh', '-c', 'trap "exit 143" TERM; echo started; sleep 60 & wait'], { stdio: ['ignore', 'pipe', 'pipe'] });
      await new Promise<void>((resolve, reject) => {
        child.stdout.on('data', (d: Buffer) => d.toString().includes('started') && resolve());
        child.once('exit', () => reject(new Error('layerfs run ended early')));
      });
      child.kill('SIGTERM');
      const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
      expect(code).toBe(143);
      expect(mountedUnder(store.root)).toEqual([]);
    });
  });

  test('crun, where it works on this host', async () => {
    const crun = whichTool('crun');
    if (!crun) return console.warn('skipped crun: not installed (apt-get install crun)');
    const c = await store.createContainer(base);
    try {
      const r = await runCollect(c, ['echo', 'crun'], { runtime: crun });
      if (/cgroups in hybrid mode not supported/.test(r.err)) return console.warn(`skipped crun: ${r.err.trim()}`);
      expect(r).toMatchObject({ exitCode: 0, out: 'crun\n' });
    } finally {
      await c.remove();
    }
  });
});

/**
 * The bench's Debian bookworm minbase root (debootstrap, made once by bench/data.ts and cached):
 * its first layer blob, where it was made; else why not.
 */
function debianMinbaseBlob(): { blob: string } | { why: string } {
  const root = path.resolve(process.env.LAYERFS_BENCH_CACHE ?? path.join(os.homedir(), '.cache', 'layerfs-bench'));
  for (const kind of ['quick', 'full']) {
    try {
      const d = JSON.parse(fs.readFileSync(path.join(root, kind, 'data.json'), 'utf8')) as { rootfsKind?: string; layerBlobs?: string[] };
      if (/debootstrap/.test(d.rootfsKind ?? '') && d.layerBlobs?.[0] && fs.existsSync(d.layerBlobs[0])) return { blob: d.layerBlobs[0] };
    } catch {
      // not made, or made by another version: the next
    }
  }
  return { why: `no debootstrap minbase image in ${root} (made by \`npm run bench\` where debootstrap is installed)` };
}

const minbase = debianMinbaseBlob();
const describeMinbase = busyboxUnmet() === null && 'blob' in minbase ? describeIf(['root', 'addon', 'runc']) : describeIf(false, 'why' in minbase ? minbase.why : busyboxUnmet()!);

describeMinbase('run: a Debian minbase root (debootstrap), by runc', () => {
  let dwork: string;
  let dstore: LayerStore;
  let chain: string;
  beforeAll(async () => {
    dwork = tempDir('runtime-minbase');
    dstore = await LayerStore.open(path.join(dwork, 'store'));
    chain = (await dstore.importLayer((minbase as { blob: string }).blob)).chainId;
  }, 300_000);
  afterAll(() => cleanup(dwork));

  test('its shell, its users (nobody from its own /etc/passwd), and a diff of only what the process wrote', async () => {
    const c = await dstore.createContainer(chain, { driver: canMount ? 'overlay' : 'copy' });
    try {
      // bookworm's /bin is a symlink to usr/bin: found through PATH, and /etc/passwd read inside the root
      expect(await runCollect(c, ['sh', '-c', 'echo "$(id -u) $(cat /etc/debian_version | cut -d. -f1) $HOME"'])).toMatchObject({ exitCode: 0, out: '0 12 /root\n' });
      expect((await runCollect(c, ['id', '-u'], { user: 'nobody' })).out).toBe('65534\n');
      // a child killed by a signal (pid 1 itself ignores what it has no handler for): its shell reports 128+N
      expect(await runCollect(c, ['sh', '-c', 'sh -c "kill -TERM \\$\\$"; exit $?'])).toMatchObject({ exitCode: 143, signal: 'SIGTERM' });
      await runCollect(c, ['true']);
      expect(await c.diff()).toEqual([]);
      await runCollect(c, ['sh', '-c', 'echo x > /x']);
      expect((await c.diff()).map((ch) => `${ch.kind} ${ch.path}`)).toEqual(['A /x']);
    } finally {
      await c.remove();
    }
  }, 120_000);
});
