/**
 * 9. CLI start: what `layerfs create --mount`, `mount` and `umount` cost above a bare Node start
 * (`node -e 0`), in one run, in a store holding 1 container, in one holding 1,000, and in one
 * holding 1,000 that are all mounted (a machine's mount table then has a thousand lines). The runs
 * are interleaved (every subject once, then again), so a change in the machine's load falls on
 * all of them alike.
 */
import * as path from 'path';
import { spawnSync } from 'child_process';
import { LayerStore } from '../lib/layer-store';
import { summarise } from './lib/measure';
import type { Row, Subject, Target } from './lib/report';
import { Ctx, fresh, GroupResult, hyperfineLine, med, sh, skippedSubject, target } from './common';

const MANY = 1000;

interface Line {
  name: string;
  cmd: string;
  prepare?: string;
  times: number[];
  /** CPU seconds (user + system) of the command, children included */
  cpu: number[];
}

/**
 * Wall seconds of a bash command (stdout discarded; a failure throws), and the CPU seconds it
 * used (bash's `times`: the user and system time of its children). On a machine others load,
 * the wall time of a start is mostly waiting for a core; its CPU time is what it costs.
 */
function timeAndCpu(cmd: string): { wall: number; cpu: number } {
  const t0 = process.hrtime.bigint();
  const r = spawnSync('bash', ['-c', `{ ${cmd}\n} >/dev/null; s=$?; times; exit $s`], { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) throw new Error(`${cmd} failed (${r.status}): ${r.stderr}`);
  // the second line: the children's user and system time, as 0m0.052s 0m0.008s
  const m = /(\d+)m([\d.]+)s\s+(\d+)m([\d.]+)s\s*$/.exec(r.stdout.trim().split('\n').pop() ?? '');
  if (!m) throw new Error(`bash's times printed ${JSON.stringify(r.stdout)}`);
  return { wall, cpu: Number(m[1]) * 60 + Number(m[2]) + Number(m[3]) * 60 + Number(m[4]) };
}

/**
 * The median over rounds of `b`'s time less `a`'s, each pair from one round: the two ran one
 * right after the other, so a change in the machine's load between rounds falls on both.
 */
function pairedMedianDiff(a: number[], b: number[]): number {
  return summarise(a.map((t, i) => b[i] - t)).median;
}

/**
 * The store-reading calls one run of a command makes (files and directories opened, and
 * directory listings read), counted by strace after its prepare step; null without strace.
 * A count is the same whatever the machine's load: the evidence that a command does not read
 * more of a bigger store.
 */
function storeCalls(l: Line): { opens: number; listings: number } | null {
  if (spawnSync('bash', ['-c', 'command -v strace'], { stdio: 'ignore' }).status !== 0) return null;
  if (l.prepare) sh(l.prepare);
  const r = spawnSync('bash', ['-c', `strace -f -c -e trace=openat,getdents64 -o /dev/stdout ${l.cmd} 2>/dev/null | grep -E ' (openat|getdents64)$'`], { encoding: 'utf8' });
  // strace -c's columns: % time, seconds, usecs/call, calls, [errors,] syscall
  const count = (call: string) => Number(r.stdout.split('\n').map((line) => line.trim().split(/\s+/)).find((t) => t[t.length - 1] === call)?.[3] ?? 0);
  return { opens: count('openat'), listings: count('getdents64') };
}

/** A store with the image's base layer and `count` containers, one of them named `probe`; its chain. */
async function storeWith(ctx: Ctx, count: number): Promise<{ dir: string; chain: string }> {
  const dir = fresh(path.join(ctx.work, `cli-start-${count}`));
  const store = await LayerStore.open(dir);
  const { chainId } = await store.importLayer(ctx.data.layerBlobs[0]);
  // every tenth one named, as a user's mix would be
  for (let i = 1; i < count; i++) await store.createContainer(chainId, { driver: 'overlay', name: i % 10 ? undefined : `filler-${i}` });
  await store.createContainer(chainId, { driver: 'overlay', name: 'probe' });
  return { dir, chain: chainId };
}

export async function cliStartGroup(ctx: Ctx): Promise<GroupResult> {
  const title = 'CLI start: short commands against a bare Node start, with 1 and with 1,000 containers';
  const note = `Each line is one command of a user's session: \`create --mount\` makes and mounts a new named container (the name checked against the store's), \`mount\` and \`umount\` take a container by name. The store holds the image's base layer and 1 or ${MANY.toLocaleString('en')} containers (overlay, every tenth named); in the third store all ${MANY.toLocaleString('en')} are mounted, so the machine's mount table has a line for each (a mount point is told by one statx, and the new overlay's options come from statmount, with no read of mountinfo). The floor is \`node -e 0\`, the same Node binary starting and doing nothing; all lines are run interleaved, round after round. The untimed --prepare step puts the container back (removed, unmounted or mounted).`;
  const rows: Row[] = [];
  const targets: Target[] = [];
  const texts = { start: 'CLI start: layerfs create --mount, mount and umount each at most 15 ms above a bare node -e 0 (same run)', flat: `CLI start does not grow with the containers: with ${MANY.toLocaleString('en')} containers, unmounted or all mounted, within 10% of 1 (create --mount, mount, umount)` };
  if (ctx.peers.noOverlay) {
    rows.push({ label: 'layerfs create --mount', layerfs: skippedSubject('layerfs CLI', ctx.peers.noOverlay), peers: [] });
    return { section: { title, note, rows }, targets: [target(texts.start, null, ctx.peers.noOverlay), target(texts.flat, null, ctx.peers.noOverlay)] };
  }
  const one = await storeWith(ctx, 1);
  const many = await storeWith(ctx, MANY);
  const mounted = await storeWith(ctx, MANY);
  const mountedStore = await LayerStore.open(mounted.dir);
  const fillers = (await mountedStore.listContainers()).filter((c) => c.name !== 'probe');
  for (const c of fillers) await c.mount();
  const cli = (dir: string) => `node ${ctx.cli} --store ${dir}`;
  const commands = (s: { dir: string; chain: string }, n: number): Line[] => [
    { name: `create --mount (${n})`, cmd: `${cli(s.dir)} create ${s.chain} --driver overlay --name cli-new --mount`, prepare: `${cli(s.dir)} rm cli-new >/dev/null 2>&1; true`, times: [], cpu: [] },
    { name: `mount (${n})`, cmd: `${cli(s.dir)} mount probe`, prepare: `${cli(s.dir)} umount probe >/dev/null`, times: [], cpu: [] },
    { name: `umount (${n})`, cmd: `${cli(s.dir)} umount probe`, prepare: `${cli(s.dir)} mount probe >/dev/null`, times: [], cpu: [] },
  ];
  const node: Line = { name: 'node -e 0', cmd: `node -e 0`, times: [], cpu: [] };
  const lines = [node, ...commands(one, 1), ...commands(many, MANY), ...commands(mounted, MANY)];
  const runs = Math.max(30, ctx.runs * 6);
  // a first round untimed: each command's code cache is made by its first run
  for (const l of lines) {
    if (l.prepare) sh(l.prepare);
    timeAndCpu(l.cmd);
  }
  for (let r = 0; r < runs; r++)
    for (const l of lines) {
      if (l.prepare) sh(l.prepare);
      const t = timeAndCpu(l.cmd);
      l.times.push(t.wall);
      l.cpu.push(t.cpu);
    }
  const subject = (l: Line, name: string): Subject => ({ name, sample: summarise(l.times), command: hyperfineLine(runs, l.cmd, l.prepare) });
  const floor = subject(node, 'bare node -e 0 (the floor)');
  const nodeMs = floor.sample!.median * 1000;
  const cpuMs = (l: Line) => summarise(l.cpu).median * 1000;
  const nodeCpu = cpuMs(node);
  floor.extra = `CPU ${nodeCpu.toFixed(1)} ms`;
  const over: string[] = [];
  const flat: string[] = [];
  let startHolds = true;
  let flatHolds = true;
  for (let i = 0; i < 3; i++) {
    const a = lines[1 + i];
    const b = lines[4 + i];
    const c = lines[7 + i];
    const label = `layerfs ${a.name.replace(/ \(\d+\)$/, '')}`;
    const withOne = subject(a, 'layerfs CLI, store with 1 container');
    const withMany = subject(b, `layerfs CLI, store with ${MANY.toLocaleString('en')} containers`);
    const withMounted = subject(c, `layerfs CLI, store with ${MANY.toLocaleString('en')} containers, all mounted`);
    const extra = (s: Subject, l: Line) => `${(s.sample!.median * 1000 - nodeMs).toFixed(1)} ms above node -e 0; CPU ${(cpuMs(l) - nodeCpu).toFixed(1)} ms above its`;
    withOne.extra = extra(withOne, a);
    withMany.extra = extra(withMany, b);
    withMounted.extra = extra(withMounted, c);
    rows.push({ label, layerfs: withOne, peers: [withMany, withMounted, floor] });
    const d1 = med(withOne)! * 1000 - nodeMs;
    const dn = med(withMany)! * 1000 - nodeMs;
    const dm = med(withMounted)! * 1000 - nodeMs;
    startHolds &&= Math.max(d1, dn) <= 15;
    // paired within each round: the machine's load moves the medians of lines apart by more than 10%
    const pn = pairedMedianDiff(a.times, b.times) * 1000;
    const pm = pairedMedianDiff(a.times, c.times) * 1000;
    const oneMs = med(withOne)! * 1000;
    flatHolds &&= Math.max(pn, pm) <= oneMs * 0.1;
    const calls = [a, b, c].map(storeCalls);
    const callText = calls.every((x) => x !== null) ? `; store reads (opens, listings): ${calls.map((x) => `${x!.opens}/${x!.listings}`).join(', ')} with 1, ${MANY.toLocaleString('en')}, all mounted` : '';
    withMany.extra += `; paired, round by round: ${pn >= 0 ? '+' : ''}${pn.toFixed(1)} ms against 1 container`;
    withMounted.extra += `; paired, round by round: ${pm >= 0 ? '+' : ''}${pm.toFixed(1)} ms against 1 container`;
    over.push(`${label.replace('layerfs ', '')} +${d1.toFixed(1)} ms (+${dn.toFixed(1)} ms with ${MANY.toLocaleString('en')}; CPU +${(cpuMs(a) - nodeCpu).toFixed(1)}, +${(cpuMs(b) - nodeCpu).toFixed(1)} ms)`);
    flat.push(`${label.replace('layerfs ', '')} ${pn >= 0 ? '+' : ''}${pn.toFixed(1)} ms (all mounted ${pm >= 0 ? '+' : ''}${pm.toFixed(1)} ms) on ${oneMs.toFixed(1)} ms (medians ${(med(withMany)! * 1000).toFixed(1)}, ${(med(withMounted)! * 1000).toFixed(1)} all mounted, +${dm.toFixed(1)} ms above node)${callText}`);
  }
  targets.push(target(texts.start, startHolds, `wall medians ${over.join(', ')}; node -e 0 ${nodeMs.toFixed(1)} ms (CPU ${nodeCpu.toFixed(1)} ms)`));
  targets.push(target(texts.flat, flatHolds, flat.join(', ')));
  for (const s of [one, many, mounted]) sh(`${cli(s.dir)} rm cli-new >/dev/null 2>&1; ${cli(s.dir)} umount probe >/dev/null 2>&1; true`);
  for (const c of fillers) await c.unmount();
  return { section: { title, note, rows }, targets };
}
