/**
 * `npm run bench` (full: writes bench/RESULTS.md and the SVG charts) or `npm run bench -- --quick`
 * (smaller data, fewer runs: writes bench/RESULTS-quick.md). Options: --only NAME[,NAME]
 * (import, container, scaling, diff, hashing, memory), --runs N.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { execFileSync } from 'child_process';
import { buildData } from './data';
import { has, installPeers, versions } from './peers';
import { containerGroup, Ctx, diffCommitGroup, GroupResult, hashingGroup, importGroup, memoryGroup, mountScalingGroup } from './groups';
import { ratio, renderMarkdown } from './lib/report';
import { lineChart, ratioBars } from './lib/svg';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

function machine(work: string): Record<string, string> {
  const cpu = (os.cpus()[0]?.model ?? 'unknown').trim();
  const fsType = execFileSync('bash', ['-c', `df -T ${work} | tail -1 | awk '{print $2}'`]).toString().trim();
  return { cpu, cores: String(os.cpus().length), memory: `${(os.totalmem() / 2 ** 30).toFixed(0)} GiB`, kernel: os.release(), filesystem: `${fsType} (${work})`.replace(os.homedir(), '~') };
}

async function main(): Promise<void> {
  const quick = process.argv.includes('--quick');
  const only = arg('--only')?.split(',');
  const runs = Number(arg('--runs') ?? (quick ? 2 : 5));
  installPeers();
  console.log('building the bench data (cached after the first run)…');
  const data = buildData(quick);
  const work = path.join(data.cache, 'work');
  fs.rmSync(work, { recursive: true, force: true });
  fs.mkdirSync(work, { recursive: true });
  const ctx: Ctx = { data, runs, quick, work, cli: path.resolve(__dirname, '../../bin/layerfs'), has };
  const groups: Array<[string, () => Promise<GroupResult | GroupResult[]>]> = [
    ['import', () => importGroup(ctx)],
    ['container', () => containerGroup(ctx)],
    ['scaling', () => mountScalingGroup(ctx)],
    ['diff', () => diffCommitGroup(ctx)],
    ['hashing', () => hashingGroup(ctx)],
    ['memory', () => memoryGroup(ctx)],
  ];
  const results: GroupResult[] = [];
  for (const [name, run] of groups) {
    if (only && !only.includes(name)) continue;
    console.log(`— ${name}`);
    try {
      const r = await run();
      results.push(...(Array.isArray(r) ? r : [r]));
    } catch (e) {
      console.log(`  ${name} failed: ${(e as Error).message}`);
      results.push({ section: { title: name, note: `failed: ${(e as Error).message.split('\n')[0]}`, rows: [] }, targets: [] });
    }
  }
  fs.rmSync(work, { recursive: true, force: true });
  const targets = results.flatMap((r) => r.targets);
  for (const t of targets) console.log(`${t.holds === null ? '?' : t.holds ? 'ok ' : 'NO '} ${t.text}: ${t.detail}`);
  const bars = results.flatMap((r) => r.section.rows.flatMap((row) => row.peers.map((p) => ({ label: `${row.label} vs ${p.name}`.slice(0, 60), ratio: ratio(row.layerfs, p) }))));
  const charts: string[] = [];
  const suffix = quick ? '-quick' : '';
  fs.writeFileSync(path.join(__dirname, '../../bench', `ratios${suffix}.svg`), ratioBars('layerfs vs peers (peer time / layerfs time; > 1: layerfs faster)', bars));
  charts.push(`ratios${suffix}.svg`);
  const series = results.flatMap((r) => r.series ?? []);
  if (series.length) {
    fs.writeFileSync(path.join(__dirname, '../../bench', `mount-scaling${suffix}.svg`), lineChart('overlay mount + umount time against layer count', 'layers', 'ms', series));
    charts.push(`mount-scaling${suffix}.svg`);
  }
  const md = renderMarkdown({ machine: { ...machine(data.cache), data: data.rootfsKind }, versions: versions(), sections: results.map((r) => r.section), targets, charts, quick, date: new Date().toISOString() });
  const out = path.join(__dirname, '../../bench', quick ? 'RESULTS-quick.md' : 'RESULTS.md');
  fs.writeFileSync(out, md);
  console.log(`wrote ${path.relative(process.cwd(), out)}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
