import * as fs from 'fs';
import * as path from 'path';
import { asUser, binAs, CLI, cliAs, giveFile, makeUser, removeUser, rootlessUnmet, TestUser } from './users';
import { describeIf } from '../fixtures/peers';
import { rawTar } from '../fixtures/hostile-tar';

/**
 * bin/layerfs enters a live holder's namespace itself (its shell part, with nsenter), so that a
 * command as a user starts Node once; with no live holder, or a command line it cannot read as
 * the CLI would, Node runs outside and enters (or starts the holder) as before. Every Node that
 * starts appends its pid and user namespace to a log (NODE_OPTIONS=--require), so the tests count
 * the Node processes a command took and see where they ran.
 */
const why = rootlessUnmet();
const T = 120_000;

function ok(r: { status: number | null; stdout: string; stderr: string }, what: string): string {
  if (r.status !== 0) throw new Error(`${what}: exit ${r.status}\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

describeIf(why === null, why ?? '')('bin/layerfs enters the holder itself: one Node per command', () => {
  let u: TestUser;
  let log: string;
  let probe: string;
  const store = () => path.join(u.home, '.local/share/layerfs');
  const holderNs = (dir = store()) => fs.readlinkSync(`/proc/${JSON.parse(fs.readFileSync(path.join(dir, 'userns.json'), 'utf8')).pid}/ns/user`);
  /** The Node processes that ran since the last call: their user namespaces. */
  const nodes = (): string[] => {
    const lines = fs.existsSync(log) ? fs.readFileSync(log, 'utf8').trim().split('\n').filter(Boolean) : [];
    fs.writeFileSync(log, '');
    return lines;
  };
  const env = () => ({ NODE_OPTIONS: `--require ${probe}` });
  beforeAll(() => {
    u = makeUser(true);
    log = giveFile(u, 'nodes.log', '');
    // the CLI's own processes (not the workers, threads or probes it starts)
    probe = giveFile(u, 'probe.js', `if (require('worker_threads').isMainThread && /bin\\/layerfs$/.test(process.argv[1] || '')) require('fs').appendFileSync(${JSON.stringify(log)}, require('fs').readlinkSync('/proc/self/ns/user') + '\\n');\n`);
  });
  afterAll(() => removeUser(u, [path.join(u.home, 'rel-store')]));

  test(
    'the first command starts the holder (two Nodes); after it, every command is one Node, in the holder namespace, with its pid file beside userns.json',
    () => {
      const tar = giveFile(u, 'base.tar', rawTar([{ name: 'etc/', type: '5', mode: 0o755 }, { name: 'etc/passwd', body: 'root:x:0:0::/root:/bin/sh\n', mode: 0o644 }, { name: 'etc/shadow', body: 'x', mode: 0o640, gid: 42 }]));
      const chain = JSON.parse(ok(binAs(u, ['--json', 'import', tar], { env: env() }), 'import')).chainId;
      expect(nodes()).toHaveLength(2);
      const h = JSON.parse(fs.readFileSync(path.join(store(), 'userns.json'), 'utf8'));
      expect(fs.readFileSync(path.join(store(), 'userns.pid'), 'utf8')).toBe(`${h.pid} ${h.startTime}\n`);
      const c = JSON.parse(ok(binAs(u, ['--json', 'create', '--driver', 'overlay', '--mount', chain], { env: env() }), 'create --mount'));
      expect(nodes()).toEqual([holderNs()]);
      // the mount is where the next command finds it, and the directory is the caller's
      const sub = path.join(u.home, 'sub');
      fs.mkdirSync(sub);
      fs.chownSync(sub, u.uid, u.gid);
      const inside = ok(binAs(u, ['unshare', 'sh', '-c', `pwd; cat ${c.path}/etc/passwd`], { env: env(), cwd: sub }), 'unshare');
      expect(inside).toBe(`${sub}\nroot:x:0:0::/root:/bin/sh\n`);
      expect(nodes()).toEqual([holderNs()]);
      // `node bin/layerfs` (the Node script alone) still works: it enters from Node, as before
      ok(cliAs(u, ['ls'], { env: env() }), 'node bin/layerfs ls');
      expect(nodes()).toHaveLength(2);
    },
    T,
  );

  test(
    '--store DIR and --store=DIR, relative to the working directory, name the store as the CLI does',
    () => {
      ok(binAs(u, ['--store', 'rel-store', 'ls']), 'first ls of the store');
      nodes();
      for (const args of [['--store', 'rel-store', 'ls'], ['ls', '--store=rel-store'], ['--store', `${u.home}/rel-store/`, 'ls']]) {
        ok(binAs(u, args, { env: env() }), args.join(' '));
        expect([args, nodes()]).toEqual([args, [holderNs(path.join(u.home, 'rel-store'))]]);
      }
      // LAYERFS_STORE too, and the default store is another holder's
      ok(binAs(u, ['ls'], { env: { ...env(), LAYERFS_STORE: 'rel-store' } }), 'LAYERFS_STORE');
      expect(nodes()).toEqual([holderNs(path.join(u.home, 'rel-store'))]);
      expect(holderNs(path.join(u.home, 'rel-store'))).not.toBe(holderNs());
      // after run, bundle or unshare the words may be the command's own: a --store there is not taken
      const run = binAs(u, ['run', 'no-such-image', 'true', '--store=rel-store'], { env: env() });
      expect([run.status, run.stderr]).not.toEqual([run.status, expect.stringContaining('bin/layerfs entered')]);
      expect(nodes()[0]).toBe(fs.readlinkSync('/proc/self/ns/user'));
      ok(binAs(u, ['unshare', 'sh', '-c', 'exit 0', '--store=rel-store'], { env: env() }), 'unshare with --store as its operand');
      expect(nodes()[0]).toBe(fs.readlinkSync('/proc/self/ns/user'));
      // a command line it does not read as the CLI would (the store given twice) goes to Node outside
      ok(binAs(u, ['--store', 'rel-store', '--store', 'rel-store', 'ls'], { env: env() }), 'the store twice');
      expect(nodes()[0]).toBe(fs.readlinkSync('/proc/self/ns/user'));
    },
    T,
  );

  test(
    'a dead holder, or a pid file naming another process, is not entered: Node starts a new holder',
    () => {
      const old = JSON.parse(fs.readFileSync(path.join(store(), 'userns.json'), 'utf8'));
      process.kill(old.pid, 'SIGKILL');
      for (let i = 0; i < 200 && fs.existsSync(`/proc/${old.pid}`); i++) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
      ok(binAs(u, ['ls'], { env: env() }), 'ls after the holder died');
      expect(nodes()).toHaveLength(2);
      const now = JSON.parse(fs.readFileSync(path.join(store(), 'userns.json'), 'utf8'));
      expect(now.pid).not.toBe(old.pid);
      // the same pid with another start time (a reused pid)
      fs.writeFileSync(path.join(store(), 'userns.pid'), `${now.pid} 1\n`);
      ok(binAs(u, ['ls'], { env: env() }), 'ls with a wrong start time');
      expect(nodes()).toHaveLength(2);
    },
    T,
  );

  test(
    'a process entered for one store that opens another is refused, naming both',
    () => {
      const h = JSON.parse(fs.readFileSync(path.join(store(), 'userns.json'), 'utf8'));
      const other = path.join(u.home, 'rel-store');
      // as bin/layerfs would enter it, had it read the command line wrong
      const r = asUser(u, 'env', ['LAYERFS_USERNS_REEXEC=1', `LAYERFS_USERNS_ENTERED=${other}`, 'nsenter', '--target', String(h.pid), '--user', '--mount', '--preserve-credentials', '--', process.execPath, CLI, 'ls']);
      expect([r.status, r.stderr]).toEqual([1, `layerfs: bin/layerfs entered the user namespace of the store ${other}, but the command opens the store ${store()}: give the store once, as --store DIR before the command or as LAYERFS_STORE\n`]);
    },
    T,
  );

  test(
    '`layerfs unshare --stop` ends the holder (its mounts go with it) and removes its pid file; the next command starts a new one',
    () => {
      const chain = JSON.parse(ok(binAs(u, ['--json', 'ls']), 'ls')).layers[0].chainId;
      const c = JSON.parse(ok(binAs(u, ['--json', 'create', '--driver', 'overlay', '--mount', chain]), 'create --mount'));
      const old = JSON.parse(fs.readFileSync(path.join(store(), 'userns.json'), 'utf8'));
      const r = JSON.parse(ok(binAs(u, ['--json', 'unshare', '--stop']), 'unshare --stop'));
      expect(r).toEqual({ store: store(), stopped: true, pid: old.pid });
      for (let i = 0; i < 200 && fs.existsSync(`/proc/${old.pid}`); i++) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
      expect(fs.existsSync(`/proc/${old.pid}`)).toBe(false);
      expect(fs.existsSync(path.join(store(), 'userns.pid'))).toBe(false);
      expect(ok(binAs(u, ['unshare', '--stop']), 'again')).toBe(`${store()} has no user namespace holder running\n`);
      // a new holder: the container is no longer mounted, and mounts again
      const again = JSON.parse(ok(binAs(u, ['--json', 'mount', c.id]), 'mount'));
      expect(JSON.parse(fs.readFileSync(path.join(store(), 'userns.json'), 'utf8')).pid).not.toBe(old.pid);
      expect(ok(binAs(u, ['unshare', 'cat', `${c.path}/etc/passwd`]), 'cat')).toBe('root:x:0:0::/root:/bin/sh\n');
      expect(again).toBeTruthy();
      const usage = binAs(u, ['unshare', '--stop', 'ls']);
      expect([usage.status, usage.stderr]).toEqual([2, expect.stringContaining('unshare --stop takes no command')]);
    },
    T,
  );
});
