import * as fs from 'fs';
import * as path from 'path';
import { execFileSync, spawnSync } from 'child_process';
import { createHash } from 'crypto';
import { pipeline } from 'stream/promises';
import { LayerStore } from '../lib/layer-store';
import { diffTrees } from '../lib/diff';
import { createCompressor } from '../lib/tar/compression';
import { canMountOverlay } from './peers';
import { measure, measureShell, peakRss, summarise, Sample } from './lib/measure';
import type { Row, Section, Subject, Target } from './lib/report';
import type { BenchData } from './data';

export interface Ctx {
  data: BenchData;
  runs: number;
  quick: boolean;
  work: string;
  cli: string;
  has(tool: string): boolean;
}

export interface GroupResult {
  section: Section;
  targets: Target[];
  series?: { name: string; points: [number, number][] }[];
}

const sh = (cmd: string) => execFileSync('bash', ['-c', cmd], { stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 << 20 }).toString();
const fresh = (p: string) => {
  spawnSync('bash', ['-c', `umount -R ${p} 2>/dev/null; rm -rf ${p}`]);
  fs.mkdirSync(p, { recursive: true });
};
const subj = (name: string, command: string, sample?: Sample, skipped?: string, unit?: Subject['unit']): Subject => ({ name, command, sample, skipped, unit });
const med = (s?: Subject) => s?.sample?.median;

async function peer(ctx: Ctx, tool: string, name: string, cmd: string, setup?: () => void): Promise<Subject> {
  if (!ctx.has(tool)) return subj(name, cmd, undefined, `${tool} is not installed`);
  try {
    return subj(name, cmd, await measureShell(ctx.runs, cmd, setup));
  } catch (e) {
    return subj(name, cmd, undefined, `could not run here: ${(e as Error).message.split('\n')[0].slice(0, 120)}`);
  }
}

export async function importGroup(ctx: Ctx): Promise<GroupResult> {
  const { data } = ctx;
  const storeDir = path.join(ctx.work, 'import-store');
  const lf = subj('layerfs importImage (oci-archive)', `layerfs --store DIR image import ${data.ociArchive}`, await measure(ctx.runs, async () => {
    const s = await LayerStore.open(storeDir);
    await s.importImage(data.ociArchive);
  }, () => fresh(storeDir), () => fresh(storeDir)));
  const dest = path.join(ctx.work, 'unpack');
  const umoci = await peer(ctx, 'umoci', 'umoci unpack', `umoci unpack --image ${data.layout}:${data.tag} ${dest}/b`, () => fresh(dest));
  const raw = await peer(ctx, 'umoci', 'umoci raw unpack', `umoci raw unpack --image ${data.layout}:${data.tag} ${dest}/r`, () => fresh(dest));
  // umoci insert's layers end without end-of-archive blocks, which GNU tar reports (status 2) after extracting everything
  const floorCmd = data.plainLayers.map((l, i) => `mkdir -p ${dest}/l${i} && { tar -xf ${l} -C ${dest}/l${i} 2>/dev/null || [ $? -eq 2 ]; } && sha256sum ${l} >/dev/null`).join(' && ');
  const floor = await peer(ctx, 'tar', 'GNU tar -x + sha256sum (uncompressed layers, the floor)', floorCmd, () => fresh(dest));
  fresh(dest);
  const r = med(umoci) && med(lf) ? med(umoci)! / med(lf)! : null;
  return {
    section: { title: '1. Import the whole image into layers', rows: [{ label: 'import', layerfs: lf, peers: [umoci, raw, floor] }] },
    targets: [{ text: 'import at least 1.5x faster than umoci unpack', holds: r === null ? null : r >= 1.5, detail: r === null ? 'umoci missing' : `${r.toFixed(2)}x` }],
  };
}

/** A store holding the bench image, shared by the container, diff and commit groups. */
async function imageStore(ctx: Ctx): Promise<{ store: LayerStore; chain: string }> {
  const dir = path.join(ctx.work, 'shared-store');
  const store = await LayerStore.open(dir);
  const rec = await store.importImage(ctx.data.ociArchive, { name: 'bench' });
  return { store, chain: rec.chain };
}

export async function containerGroup(ctx: Ctx): Promise<GroupResult> {
  const { store, chain } = await imageStore(ctx);
  const rows: Row[] = [];
  const flat = path.join(ctx.work, 'flat');
  fresh(flat);
  sh(`umoci raw unpack --image ${ctx.data.layout}:${ctx.data.tag} ${flat}/root`);
  const cpDest = path.join(ctx.work, 'cp');
  const cp = await peer(ctx, 'cp', 'cp -a of the flattened root', `cp -a ${flat}/root ${cpDest}/root`, () => fresh(cpDest));
  fresh(cpDest);
  const targets: Target[] = [];
  for (const driver of ['overlay', 'copy'] as const) {
    if (driver === 'overlay' && !canMountOverlay()) {
      rows.push({ label: 'create + mount (overlay)', layerfs: subj('layerfs', '', undefined, 'cannot mount here'), peers: [] });
      continue;
    }
    const made: { remove(): Promise<void> }[] = [];
    const s = await measure(ctx.runs, async () => {
      const c = await store.createContainer(chain, { driver });
      await c.mount();
      made.push(c);
    }, undefined, async () => {
      for (const c of made.splice(0)) await c.remove();
    });
    const lf = subj(`layerfs ${driver} driver (library)`, `store.createContainer(chain, { driver: '${driver}' }) + mount()`, s);
    rows.push({ label: `create + mount (${driver})`, layerfs: lf, peers: driver === 'copy' ? [cp] : [] });
    if (driver === 'overlay') targets.push({ text: 'container create+mount (overlay): library call under 20 ms', holds: s.median < 0.02, detail: `${(s.median * 1000).toFixed(1)} ms` });
    else if (med(cp)) targets.push({ text: 'copy driver container faster than cp -a', holds: s.median < med(cp)!, detail: `${(med(cp)! / s.median).toFixed(2)}x` });
  }
  const cliCmd = `id=$(node ${ctx.cli} --store ${store.root} create bench) && node ${ctx.cli} --store ${store.root} mount $id >/dev/null && node ${ctx.cli} --store ${store.root} rm $id`;
  rows.push({ label: 'CLI create + mount + rm (auto)', layerfs: subj('layerfs CLI', cliCmd, await measureShell(ctx.runs, cliCmd)), peers: [] });
  fresh(flat);
  return { section: { title: '2. Create and mount a container on the image', rows }, targets };
}

export async function mountScalingGroup(ctx: Ctx): Promise<GroupResult> {
  if (!canMountOverlay()) return { section: { title: '3. Mount and unmount against the number of layers', note: 'skipped: overlay mounts need root and the native addon', rows: [] }, targets: [] };
  const store = await LayerStore.open(path.join(ctx.work, 'scaling-store'));
  const src = path.join(ctx.work, 'tiny');
  const points: [number, number][] = [];
  const rows: Row[] = [];
  let parent: string | null = null;
  let count = 0;
  let five = 0;
  for (const n of [1, 5, 10, 50, 128, 500]) {
    while (count < n) {
      fresh(src);
      fs.writeFileSync(path.join(src, `f${count}`), String(count));
      const tar = path.join(ctx.work, 'tiny.tar');
      sh(`tar -cf ${tar} -C ${src} .`);
      parent = (await store.importLayer(tar, { parent })).chainId;
      count++;
    }
    const c = await store.createContainer(parent, { driver: 'overlay' });
    const iters = ctx.quick ? 10 : 50;
    const s = await measure(ctx.runs, async () => {
      for (let i = 0; i < iters; i++) {
        await c.mount();
        await c.unmount();
      }
    });
    const per = summarise(s.times.map((t) => t / iters));
    await c.remove();
    if (n === 5) five = per.median;
    else {
      points.push([n, per.median * 1000]);
      rows.push({ label: `${n} layers`, layerfs: subj('mount + umount', `container.mount(); container.unmount() on ${n} layers`, per), peers: [] });
    }
  }
  return {
    section: { title: '3. Mount and unmount against the number of layers', rows },
    targets: [{ text: 'mount+umount of 5 lowers under 5 ms', holds: five < 0.005, detail: `${(five * 1000).toFixed(2)} ms` }],
    series: [{ name: 'mount+umount (ms)', points }],
  };
}

/** The scripted change of the diff and commit groups. */
function scriptedChange(root: string, n: number): void {
  fs.mkdirSync(path.join(root, 'new-files'), { recursive: true });
  for (let i = 0; i < n; i++) fs.writeFileSync(path.join(root, 'new-files', `n${i}`), `new ${i}\n`);
  for (let i = 1; i <= 100; i++) fs.appendFileSync(path.join(root, 'opt/app', `f${i}`), 'appended\n');
  for (let i = 101; i <= 200; i++) fs.rmSync(path.join(root, 'opt/app', `f${i}`));
  fs.rmSync(path.join(root, 'usr/lib3'), { recursive: true, force: true });
}

export async function diffCommitGroup(ctx: Ctx): Promise<GroupResult[]> {
  const { store, chain } = await imageStore(ctx);
  const rows: Row[] = [];
  const commitRows: Row[] = [];
  const targets: Target[] = [];
  const n = ctx.quick ? 1000 : 3000;
  for (const driver of canMountOverlay() ? (['overlay', 'copy'] as const) : (['copy'] as const)) {
    const c = await store.createContainer(chain, { driver });
    const root = await c.mount();
    scriptedChange(root, n);
    const s = await measure(ctx.runs, () => c.diff());
    const cliCmd = `node ${ctx.cli} --store ${store.root} diff ${c.id} >/dev/null`;
    const cli = subj('layerfs CLI', cliCmd, await measureShell(ctx.runs, cliCmd));
    const naive = subj('naive full double walk (tree vs tree)', 'diffTrees(store.view(chain), merged)', await measure(ctx.runs, () => diffTrees(store.view(chain), root)));
    rows.push({ label: `scripted change (${driver})`, layerfs: subj(`layerfs ${driver} (library)`, 'container.diff()', s), peers: [cli, naive] });
    if (driver === 'overlay') targets.push({ text: 'diff of the scripted change: library call under 50 ms', holds: s.median < 0.05, detail: `${(s.median * 1000).toFixed(1)} ms` });
    const cs = await measure(ctx.runs, () => c.commit({ compression: 'gzip' }));
    commitRows.push({ label: `commit of the scripted change (${driver})`, layerfs: subj(`layerfs ${driver}`, 'container.commit({ compression: "gzip" })', cs), peers: [] });
    if (driver === 'overlay') {
      // umoci repack of the same change
      const bundle = path.join(ctx.work, 'repack-bundle');
      let umoci: Subject;
      if (ctx.has('umoci')) {
        umoci = subj('umoci repack', `umoci repack --image LAYOUT:x bundle (after the same change)`, await measure(ctx.runs, () => sh(`umoci repack --image ${ctx.data.layout}:repacked ${bundle}`), () => {
          fresh(bundle);
          fs.rmdirSync(bundle);
          sh(`umoci unpack --image ${ctx.data.layout}:${ctx.data.tag} ${bundle}`);
          scriptedChange(path.join(bundle, 'rootfs'), n);
        }));
        fresh(bundle);
      } else umoci = subj('umoci repack', '', undefined, 'umoci is not installed');
      commitRows[commitRows.length - 1].peers.push(umoci);
      if (med(umoci)) targets.push({ text: 'commit (overlay) at least 5x faster than umoci repack', holds: med(umoci)! / cs.median >= 5, detail: `${(med(umoci)! / cs.median).toFixed(2)}x` });
    }
    await c.remove();
  }
  // a 1-file change on the root and on a root 10 times larger (a layer of many small files on top)
  if (canMountOverlay()) {
    const files = Number(sh(`find ${ctx.data.rootfs} | wc -l`));
    const bigSrc = path.join(ctx.work, 'bigroot');
    fresh(bigSrc);
    const factor = ctx.quick ? 3 : 10;
    for (let i = 0; i < files * (factor - 1); i++) {
      const p = path.join(bigSrc, `x${i % 1000}`, `f${i}`);
      if (i < 1000) fs.mkdirSync(path.dirname(p), { recursive: true });
      fs.writeFileSync(p, '');
    }
    const bigTar = path.join(ctx.work, 'bigroot.tar');
    sh(`tar -cf ${bigTar} -C ${bigSrc} .`);
    fresh(bigSrc);
    const big = await store.importLayer(bigTar, { parent: chain });
    const one: number[] = [];
    for (const [label, ch] of [['root', chain], [`root x${factor}`, big.chainId]] as const) {
      const c = await store.createContainer(ch, { driver: 'overlay' });
      const root = await c.mount();
      fs.appendFileSync(path.join(root, 'etc/os-release'), 'one change\n');
      const s = await measure(ctx.runs * 3, () => c.diff());
      rows.push({ label: `1-file change, ${label}`, layerfs: subj('layerfs overlay (library)', 'container.diff()', s), peers: [] });
      one.push(s.median);
      await c.remove();
    }
    targets.push({ text: `a 1-file change costs the same on the root and on the ${factor}x root`, holds: one[1] < one[0] * 2 + 0.002, detail: `${(one[0] * 1000).toFixed(2)} ms vs ${(one[1] * 1000).toFixed(2)} ms` });
  }
  return [
    { section: { title: '4. Diff after a scripted container change', note: `${n} new files, 100 appends, 100 deletions, a removed directory`, rows }, targets: targets.filter((t) => !t.text.startsWith('commit')) },
    { section: { title: '5. Commit of that change', rows: commitRows }, targets: targets.filter((t) => t.text.startsWith('commit')) },
  ];
}

async function nodeThroughput(file: string, fn: (chunk: Buffer) => void, runs: number): Promise<Sample> {
  const bytes = fs.statSync(file).size;
  const s = await measure(runs, async () => {
    for await (const c of fs.createReadStream(file, { highWaterMark: 4 << 20 })) fn(c as Buffer);
  });
  return summarise(s.times.map((t) => bytes / t / 1e6));
}

export async function hashingGroup(ctx: Ctx): Promise<GroupResult> {
  const file = path.join(ctx.work, 'hash-input');
  sh(`head -c ${ctx.quick ? 256 << 20 : 1 << 30} /dev/urandom > ${file}; cat ${file} > /dev/null`);
  const bytes = fs.statSync(file).size;
  const mbps = async (tool: string, name: string, cmd: string): Promise<Subject> => {
    const p = await peer(ctx, tool, name, cmd);
    if (p.sample) p.sample = summarise(p.sample.times.map((t) => bytes / t / 1e6));
    p.unit = 'MB/s';
    return p;
  };
  const sha = subj('layerfs sha256 (node, 4 MiB reads)', 'lib/digest Sha256Counter over 4 MiB chunks', await nodeThroughput(file, (() => { const h = createHash('sha256'); return (c: Buffer) => h.update(c); })(), ctx.runs), undefined, 'MB/s');
  const gz = subj('layerfs gzip (zlib level 6, 256 KiB chunks)', 'createCompressor("gzip")', summarise((await measure(ctx.runs, () => pipeline(fs.createReadStream(file, { highWaterMark: 4 << 20 }), createCompressor('gzip'), fs.createWriteStream('/dev/null')))).times.map((t) => bytes / t / 1e6)), undefined, 'MB/s');
  let zs: Subject;
  try {
    zs = subj('layerfs zstd level 3 (zstd-napi)', 'createCompressor("zstd")', summarise((await measure(ctx.runs, () => pipeline(fs.createReadStream(file, { highWaterMark: 4 << 20 }), createCompressor('zstd'), fs.createWriteStream('/dev/null')))).times.map((t) => bytes / t / 1e6)), undefined, 'MB/s');
  } catch (e) {
    zs = subj('layerfs zstd', '', undefined, (e as Error).message, 'MB/s');
  }
  const rows: Row[] = [
    { label: 'sha256', layerfs: sha, peers: [await mbps('sha256sum', 'sha256sum', `sha256sum ${file}`), await mbps('openssl', 'openssl dgst -sha256', `openssl dgst -sha256 ${file}`)] },
    { label: 'gzip', layerfs: gz, peers: [await mbps('gzip', 'gzip -1', `gzip -1 -c ${file} >/dev/null`), await mbps('pigz', 'pigz', `pigz -c ${file} >/dev/null`)] },
    { label: 'zstd', layerfs: zs, peers: [await mbps('zstd', 'zstd -3', `zstd -3 -q -c ${file} >/dev/null`)] },
  ];
  fs.rmSync(file);
  const openssl = med(rows[0].peers[1]);
  return {
    section: { title: '6. Hashing and compression throughput (MB/s; ratio = layerfs / peer)', rows },
    targets: [{ text: 'sha256 throughput at least 90% of openssl dgst -sha256', holds: openssl ? sha.sample!.median >= 0.9 * openssl : null, detail: openssl ? `${((sha.sample!.median / openssl) * 100).toFixed(0)} %` : 'openssl missing' }],
  };
}

export async function memoryGroup(ctx: Ctx): Promise<GroupResult> {
  const bigLayer = ctx.data.plainLayers[3];
  const blob = path.join(ctx.work, 'big-layer.tar.gz');
  sh(`gzip -1 -c ${bigLayer} > ${blob}`);
  const storeDir = path.join(ctx.work, 'rss-store');
  fresh(storeDir);
  const lib = path.resolve(__dirname, '../lib/index.js');
  const importCmd = `node -e "require('${lib}').LayerStore.open('${storeDir}').then(s => s.importLayer('${blob}'))"`;
  const rss1 = peakRss(importCmd);
  const commitCmd = `node -e "const {LayerStore}=require('${lib}'); LayerStore.open('${storeDir}').then(async s => { const c = await s.createContainer(null, {driver:'copy'}); const r = await c.mount(); require('child_process').execSync('cp ${bigLayer} ' + r + '/big'); await c.commit({compression:'gzip'}); await c.remove(); })"`;
  const rss2 = peakRss(commitCmd);
  fresh(storeDir);
  fs.rmSync(blob);
  const mib = (b: number) => summarise([b / (1 << 20)]);
  return {
    section: { title: '7. Peak memory (RSS) of layerfs', note: `layer of ${(ctx.data.bigFileBytes / (1 << 20)).toFixed(0)} MiB file`, rows: [
      { label: 'import of the big-file layer', layerfs: subj('peak RSS', importCmd, mib(rss1), undefined, 'MiB'), peers: [] },
      { label: 'commit of a container holding that file', layerfs: subj('peak RSS', commitCmd, mib(rss2), undefined, 'MiB'), peers: [] },
    ] },
    targets: [{ text: 'peak RSS of import and commit under 150 MB', holds: Math.max(rss1, rss2) < 150e6, detail: `${(rss1 / 1e6).toFixed(0)} MB / ${(rss2 / 1e6).toFixed(0)} MB` }],
  };
}
