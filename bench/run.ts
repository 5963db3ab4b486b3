/**
 * layerfs against the real peers: `npm run bench` (full: writes bench/RESULTS.md and the SVG
 * charts) or `npm run bench -- --quick` (smaller data, fewer runs: writes bench/RESULTS-quick.md).
 * Options: --only NAME[,NAME] (import, container, scaling, diff, commit, hashing, memory, runtime, registry, cli),
 * --runs N, and --scratch-host (scratch on the cache's own filesystem instead of a fresh ext4 on
 * a loop device, see bench/scratch.ts). A run with --only writes bench/RESULTS-partial.md, never
 * RESULTS.md.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { LayerStore } from '../lib/layer-store';
import { buildData, BenchData, cacheRoot } from './data';
import { installPeers, probePeers } from './peers';
import { PeerStorage } from './peer-storage';
import { chartFile, Ctx, firstLine, GroupResult } from './common';
import { importGroup } from './import';
import { containerGroup } from './container';
import { mountScalingGroup } from './mount-scaling';
import { diffGroup } from './diff';
import { commitGroup } from './commit';
import { hashingGroup } from './hashing';
import { memoryGroup } from './memory';
import { runtimeGroup } from './runtime';
import { registryGroup } from './registry';
import { cliStartGroup } from './cli-start';
import { writeManyEmptyFilesTar } from './scripted-change';
import { makeScratch, Scratch } from './scratch';
import { warmMemory, WarmMemory } from './warm-memory';
import { bufferedWrites, damonPageout, describeBufferedWrites, describeDamonPageout, describePageReporting, pageReporting } from './write-noise';
import type { DamonPageout, PageReporting } from './write-noise';
import { ratio, renderMarkdown, Section } from './lib/report';
import { lineChart, ratioBars } from './lib/svg';

const GROUPS: Array<[string, (ctx: Ctx) => Promise<GroupResult>]> = [
  ['import', importGroup],
  ['container', containerGroup],
  ['scaling', mountScalingGroup],
  ['diff', diffGroup],
  ['commit', commitGroup],
  ['hashing', hashingGroup],
  ['memory', memoryGroup],
  ['runtime', runtimeGroup],
  ['registry', registryGroup],
  ['cli', cliStartGroup],
];

const REPO = path.resolve(__dirname, '../..');
const BENCH_DIR = path.join(REPO, 'bench');

/** Chart labels fit the chart's left column. */
const shorten = (s: string, max = 60) => (s.length > max ? s.slice(0, max - 1) + '…' : s);

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

/** what the machine-section's write-noise lines need from the run's start */
interface WriteNoise {
  reporting: PageReporting | null;
  damon: DamonPageout[];
  writes: number[];
  bytes: number;
}

function machine(scratch: Scratch, loadAtStart: number, warmed: string, noise: WriteNoise): Record<string, string> {
  const cpu = (os.cpus()[0]?.model ?? 'unknown').trim();
  return {
    CPU: cpu,
    cores: String(os.cpus().length),
    memory: `${(os.totalmem() / 2 ** 30).toFixed(0)} GiB; ${warmed}`,
    kernel: `${os.type()} ${os.release()}`,
    'where stores, containers and unpacked trees are written': scratch.kind,
    "the kernel's free page reporting": describePageReporting(noise.reporting),
    "DAMON's proactive reclaim": describeDamonPageout(noise.damon),
    'buffered writes': describeBufferedWrites(noise.writes, noise.bytes),
    'load average (1 min) at start and end': `${loadAtStart.toFixed(2)}, ${os.loadavg()[0].toFixed(2)} (other work on the machine makes times noisy)`,
  };
}

function describeData(d: BenchData): string[] {
  return [
    `**Data** (built once by bench/data.ts and cached; \`$CACHE\` below is its directory, \`$WORK\` the run's scratch directory): an OCI image made with umoci from ${d.rootfsKind}, ${d.layerBlobs.length} layers, ${d.rootEntries} entries in the flattened root, exported with skopeo to an oci-archive:`,
    '',
    ...d.layerNotes.map((n, i) => `${i + 1}. ${n}`),
    '',
    'Rerun a layerfs library line with `npm run bench -- --only GROUP` (the call is named on the line); peer and CLI lines are given as hyperfine commands (their `--prepare` step is untimed, as in the bench).',
  ];
}

async function main(): Promise<void> {
  const quick = process.argv.includes('--quick');
  const only = arg('--only')?.split(',').map((s) => s.trim());
  const unknown = only?.filter((o) => !GROUPS.some(([n]) => n === o));
  if (unknown?.length) {
    console.error(`unknown group(s): ${unknown.join(', ')}; the groups are ${GROUPS.map(([n]) => n).join(', ')}`);
    process.exit(2);
  }
  const runsArg = arg('--runs') === undefined ? undefined : Number(arg('--runs'));
  if (runsArg !== undefined && !(runsArg >= 1)) {
    console.error('--runs takes a number of runs (1 or more)');
    process.exit(2);
  }
  const runs = runsArg ?? (quick ? 3 : 7);
  const heavyRuns = runsArg ?? (quick ? 1 : 3);
  const loadAtStart = os.loadavg()[0];

  installPeers();
  const peers = probePeers();
  console.log('bench data (built once, then cached)…');
  const data = buildData(quick);
  const free = fs.statfsSync(cacheRoot());
  const need = (quick ? 3 : 12) * 2 ** 30;
  if (free.bavail * free.bsize < need) throw new Error(`the bench needs about ${need / 2 ** 30} GiB free for its scratch directory under ${cacheRoot()}; only ${((free.bavail * free.bsize) / 2 ** 30).toFixed(1)} GiB are`);

  // everything the run makes that could outlive it (mounts, containers-storage, scratch) goes at the end
  const storages = new Map<string, PeerStorage>();
  let scratch: Scratch | undefined;
  let warm: WarmMemory | undefined;
  let cleaned = false;
  const cleanup = () => {
    if (cleaned) return;
    cleaned = true;
    for (const s of storages.values()) s.destroy();
    scratch?.destroy();
    warm?.done();
  };
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const)
    process.on(sig, () => {
      console.error(`\n${sig}: cleaning up mounts and scratch…`);
      cleanup();
      process.exit(130);
    });
  process.on('exit', cleanup);
  scratch = makeScratch(path.join(cacheRoot(), `work-${process.pid}`), (quick ? 16 : 48) * 2 ** 30, process.argv.includes('--scratch-host'));
  const work = scratch.dir;
  console.log(`scratch: ${scratch.kind}`);
  console.log('filling free memory with page cache…');
  warm = warmMemory(cacheRoot());
  const noiseBytes = 2 * 2 ** 30;
  console.log('timing buffered writes (the noise every unpack carries)…');
  const noise: WriteNoise = { reporting: pageReporting(), damon: damonPageout(), writes: bufferedWrites(work, noiseBytes, 3), bytes: noiseBytes };

  let shared: Promise<{ store: LayerStore; chain: string }> | undefined;
  let tenfold: Promise<{ chain: string; factor: number; entries: number }> | undefined;
  const ctx: Ctx = {
    data,
    quick,
    partial: !!only,
    runs,
    heavyRuns,
    work,
    cli: path.join(REPO, 'bin/layerfs'),
    peers,
    sharedStore() {
      shared ??= (async () => {
        const store = await LayerStore.open(path.join(work, 'shared-store'));
        const rec = await store.importImage(data.ociArchive, { name: 'bench' });
        return { store, chain: rec.chain };
      })();
      return shared;
    },
    peerStorage(driver) {
      if (!storages.has(driver)) storages.set(driver, PeerStorage.under(work, driver, data.ociArchive));
      return storages.get(driver)!;
    },
    tenfoldChain() {
      tenfold ??= (async () => {
        const { store, chain } = await ctx.sharedStore();
        const factor = 10;
        const extra = data.rootEntries * (factor - 1);
        const tar = path.join(work, 'bulk.tar');
        writeManyEmptyFilesTar(tar, extra);
        const r = await store.importLayer(tar, { parent: chain });
        fs.rmSync(tar);
        return { chain: r.chainId, factor, entries: data.rootEntries + extra };
      })();
      return tenfold;
    },
  };

  const results: GroupResult[] = [];
  let failed = false;
  for (const [index, [name, run]] of GROUPS.entries()) {
    if (only && !only.includes(name)) continue;
    const t0 = Date.now();
    console.log(`— ${name}`);
    try {
      const r = await run(ctx);
      // sections are numbered by the group's place in the bench, so a partial run's numbers are the full report's
      r.section.title = `${index + 1}. ${r.section.title}`;
      results.push(r);
      for (const row of r.section.rows) {
        const lf = row.layerfs.sample?.median;
        const peersText = row.peers.map((p) => `${p.name}: ${ratio(row.layerfs, p)?.toFixed(2) ?? '—'}x`).join('; ');
        console.log(`  ${row.label}: ${lf === undefined ? row.layerfs.skipped : lf.toPrecision(3) + ' ' + (row.layerfs.unit ?? 's')}${peersText ? '  |  ' + peersText : ''}`);
      }
    } catch (e) {
      failed = true;
      console.log(`  ${name} failed: ${(e as Error).stack ?? e}`);
      const section: Section = { title: `${index + 1}. ${name}`, note: `**failed**: ${firstLine(e)}`, rows: [] };
      results.push({ section, targets: [] });
    }
    console.log(`  (${((Date.now() - t0) / 1000).toFixed(0)} s)`);
  }
  cleanup();

  const targets = results.flatMap((r) => r.targets);
  console.log('\ntargets:');
  for (const t of targets) console.log(`  ${t.holds === null ? 'n/a' : t.holds ? 'ok ' : 'NO '} ${t.text}: ${t.detail}`);

  const charts: string[] = [];
  const writeAll = !quick && !only;
  if (writeAll) {
    const bars = results.flatMap((r) =>
      r.section.rows.flatMap((row) =>
        row.peers.filter((p) => !p.name.startsWith('a bare node')).map((p) => ({ label: shorten(`${row.label}: vs ${p.name}`.replace(/\s*\([^)]*\)/g, '')), ratio: ratio(row.layerfs, p) })),
      ),
    );
    fs.writeFileSync(path.join(BENCH_DIR, 'ratios.svg'), ratioBars('layerfs against its peers (ratio > 1: layerfs better)', bars));
    charts.push('ratios.svg');
    const series = results.flatMap((r) => r.series ?? []).filter((s) => s.points.length);
    if (series.length) {
      fs.writeFileSync(path.join(BENCH_DIR, 'mount-scaling.svg'), lineChart('overlay mount + umount time against layer count', 'layers', 'ms per mount + umount', series));
      charts.push('mount-scaling.svg');
    }
  }
  // each group's own charts, in every run (a quick or partial run's carry its suffix, as its report does)
  for (const r of results) {
    for (const c of r.charts ?? []) {
      const file = chartFile(c.file, quick, !!only);
      fs.writeFileSync(path.join(BENCH_DIR, file), c.svg);
      if (writeAll) charts.push(file);
    }
  }
  const aliases: Array<[string, string]> = [
    [work, '$WORK'],
    [data.dir, '$CACHE'],
    [path.join(REPO, 'bin/layerfs'), 'bin/layerfs'],
    [path.join(REPO, 'dist'), 'dist'],
  ];
  const md = renderMarkdown({ machine: machine(scratch, loadAtStart, warm.note, noise), versions: peers.versions(), sections: results.map((r) => r.section), targets, charts, quick, date: new Date().toISOString().slice(0, 16).replace('T', ' ') + ' UTC', preamble: describeData(data), aliases });
  const out = path.join(BENCH_DIR, writeAll ? 'RESULTS.md' : only ? 'RESULTS-partial.md' : 'RESULTS-quick.md');
  fs.writeFileSync(out, md);
  console.log(`\nwrote ${path.relative(process.cwd(), out)}${charts.length ? ' and ' + charts.map((c) => 'bench/' + c).join(', ') : ''}`);
  if (failed) process.exitCode = 1;
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
