/**
 * Rootless against root, side by side in one run: `layerfs import` of one layer and
 * `layerfs create` + `layerfs mount` of an overlay container on it, each through the CLI as a
 * user would type it (bin/layerfs as a command): as root, and as a fresh unprivileged user (made
 * with useradd, removed after), whose commands run inside the store's user namespace (bin/layerfs
 * enters it with nsenter when its holder lives; lib/store/rootless.ts when it does not).
 * The holder is started before the timed runs, as it is for every command but a store's first.
 *
 *   node dist/bench/rootless.js [FILES] [RUNS]      (as root; default 20000 files, 7 runs)
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { spawnSync } from 'child_process';
import { randomBytes } from 'crypto';
import { summarise, Sample } from './lib/measure';

const CLI = path.resolve(__dirname, '../../bin/layerfs');
const files = Number(process.argv[2] ?? 20000);
const runs = Number(process.argv[3] ?? 7);

/**
 * `layerfs ARGS` as root (`as` null) or through setpriv as the user, bin/layerfs run as a command
 * (its shell part enters the user namespace: lib/userns/holder.ts): its stdout and wall-clock seconds.
 */
function cli(as: string[] | null, args: string[], env: Record<string, string>, cwd: string): { out: string; seconds: number } {
  const cmd = as ? [...as, 'env', ...Object.entries(env).map(([k, v]) => `${k}=${v}`), CLI, ...args] : [CLI, ...args];
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd[0], cmd.slice(1), { cwd, encoding: 'utf8', env: as ? undefined : { ...process.env, ...env } });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) throw new Error(`${cmd.join(' ')}: ${r.stderr}`);
  return { out: r.stdout, seconds };
}

function layer(dir: string): string {
  const root = path.join(dir, 'root');
  for (let d = 0; d < 100; d++) {
    fs.mkdirSync(path.join(root, 'srv', `d${d}`), { recursive: true });
    for (let i = 0; i < files / 100; i++) fs.writeFileSync(path.join(root, 'srv', `d${d}`, `f${i}`), `file ${d}/${i}\n`);
  }
  const tar = path.join(dir, 'layer.tar');
  const r = spawnSync('tar', ['--numeric-owner', '--owner=0', '--group=42', '-C', root, '-cf', tar, '.']);
  if (r.status !== 0) throw new Error('tar failed');
  fs.rmSync(root, { recursive: true, force: true });
  fs.chmodSync(tar, 0o644);
  return tar;
}

function main(): void {
  if (process.getuid?.() !== 0) throw new Error('run it as root: it makes a user');
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'layerfs-bench-rootless-'));
  fs.chmodSync(work, 0o755);
  const user = `lfsb${randomBytes(3).toString('hex')}`;
  spawnSync('useradd', ['-m', user]);
  const home = `/home/${user}`;
  const uid = spawnSync('id', ['-u', user], { encoding: 'utf8' }).stdout.trim();
  const as = ['setpriv', '--reuid', uid, '--regid', uid, '--init-groups'];
  const userEnv = { HOME: home, PATH: '/usr/bin:/bin:/usr/sbin:/sbin', LAYERFS_STORE: path.join(home, 'store') };
  const rootEnv = { LAYERFS_STORE: path.join(work, 'root-store') };
  try {
    const tar = layer(work);
    const out: Record<string, { import: number[]; create: number[] }> = { root: { import: [], create: [] }, rootless: { import: [], create: [] } };
    // the user's store and holder exist before the timed runs (what every command after a store's first finds)
    cli(as, ['ls'], userEnv, home);
    cli(null, ['ls'], rootEnv, work);
    for (let i = 0; i < runs; i++) {
      // alternate, so that the machine's noise falls on both alike
      for (const [name, whoAs, env, cwd] of [
        ['root', null, rootEnv, work],
        ['rootless', as, userEnv, home],
      ] as const) {
        const who = whoAs as string[] | null;
        const e = env as Record<string, string>;
        out[name].import.push(cli(who, ['import', tar], e, cwd).seconds);
        const c = (JSON.parse(cli(who, ['--json', 'ls'], e, cwd).out) as { layers: Array<{ chainId: string }> }).layers[0].chainId;
        const made = cli(who, ['--json', 'create', '--driver', 'overlay', '--mount', c], e, cwd);
        out[name].create.push(made.seconds);
        cli(who, ['rm', (JSON.parse(made.out) as { id: string }).id], e, cwd);
        cli(who, ['rmi', c], e, cwd);
        cli(who, ['gc'], e, cwd);
      }
    }
    const show = (s: Sample) => `${(s.median * 1000).toFixed(0)} ms (${(s.min * 1000).toFixed(0)}–${(s.max * 1000).toFixed(0)})`;
    console.log(`| ${files} files, ${runs} runs, alternating | root | rootless (subuid mapping) | rootless / root |`);
    console.log('|---|---|---|---|');
    for (const op of ['import', 'create'] as const) {
      const r = summarise(out.root[op]);
      const u = summarise(out.rootless[op]);
      console.log(`| ${op === 'import' ? '`layerfs import LAYER`' : '`layerfs create --driver overlay --mount`'} | ${show(r)} | ${show(u)} | ${(u.median / r.median).toFixed(2)}x |`);
    }
  } finally {
    // a failed run may leave root's container mounted: never delete through a mount
    for (const l of fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
      const m = l.split(' ')[4];
      if (m?.startsWith(work + '/')) spawnSync('umount', [m]);
    }
    try {
      const h = JSON.parse(fs.readFileSync(path.join(home, 'store', 'userns.json'), 'utf8')) as { pid: number };
      process.kill(h.pid, 'SIGKILL');
    } catch {
      // no holder
    }
    // userdel refuses a user with a process, and the killed holder takes a moment to go
    for (let i = 0; i < 100 && /currently used by process/.test(spawnSync('userdel', ['-r', user], { encoding: 'utf8' }).stderr); i++) spawnSync('sleep', ['0.05']);
    fs.rmSync(work, { recursive: true, force: true });
  }
}

main();
