/**
 * 5. Commit of the scripted change: layerfs (overlay and copy drivers, gzip and uncompressed)
 * against umoci repack and buildah commit (overlay and vfs); and a 1-file change committed on
 * the root and on a root ten times larger.
 */
import * as fs from 'fs';
import * as path from 'path';
import type { LayerStore } from '../lib/layer-store';
import type { Container } from '../lib/container';
import { commitPhases } from '../lib/container/commit';
import { measure, Sample } from './lib/measure';
import { phaseTimeline } from './lib/svg';
import type { Row, Subject, Target } from './lib/report';
import { chartFile, Ctx, GroupResult, librarySubject, med, ms, ratioText, removeTree, settle, sh, shellSubject, skippedSubject, target } from './common';
import { describeChange, newFiles, scriptedChange } from './scripted-change';
import type { PeerStorage } from './peer-storage';

type Compression = 'gzip' | 'zstd' | 'none';

const kB = (bytes: number) => `${(bytes / 1e3).toFixed(0)} kB`;

/** One commit's phases (lib/container/commit.ts's commitPhases), ms from the commit's start. */
type PhaseRun = Array<{ name: string; start: number; end: number }>;

/**
 * Times commits of fresh containers that each got `change` (untimed, right before the commit, as
 * a user commits shortly after writing); the new layers are removed after. `phases`: each run's
 * phases are added to it.
 */
async function commits(store: LayerStore, chain: string, driver: 'overlay' | 'copy', compression: Compression | undefined, runs: number, change: (root: string) => void, phases?: PhaseRun[]): Promise<{ sample: Sample; size: number }> {
  let c: Container | undefined;
  let made: string | undefined;
  let size = 0;
  const sample = await measure(
    runs,
    async () => {
      const run: PhaseRun = [];
      const t0 = process.hrtime.bigint();
      if (phases) commitPhases.on = (name, start, end) => run.push({ name, start: Number(start - t0) / 1e6, end: Number(end - t0) / 1e6 });
      try {
        const r = await c!.commit(compression ? { compression } : {});
        made = r.chainId;
        size = r.size;
      } finally {
        commitPhases.on = undefined;
      }
      phases?.push(run);
    },
    async () => {
      c = await store.createContainer(chain, { driver });
      change(await c.mount());
    },
    async () => {
      await c?.remove();
      if (made) await store.removeLayer(made);
      made = undefined;
      await settle(store);
    },
  );
  return { sample, size };
}

/** The median start and end of each phase over the runs, in the order the phases began. */
function medianPhases(runs: PhaseRun[]): PhaseRun {
  const names = [...new Set(runs.flatMap((r) => r.map((p) => p.name)))];
  const median = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  };
  return names
    .map((name) => {
      const of = runs.map((r) => r.find((p) => p.name === name)).filter((p): p is PhaseRun[number] => !!p);
      return { name, start: median(of.map((p) => p.start)), end: median(of.map((p) => p.end)) };
    })
    .sort((a, b) => a.start - b.start);
}

/**
 * Where a commit of the scripted change went, measured before the one-pass commit and after it
 * on the same machine in one sitting (bench/commit-phases-before.json says how), beside this
 * run's own.
 */
function phasesChart(thisRun: PhaseRun, total: number, label: string): string {
  const recorded = JSON.parse(fs.readFileSync(path.join(__dirname, '../../bench/commit-phases-before.json'), 'utf8')) as { versions: Array<{ name: string; total: number; phases: PhaseRun }> };
  return phaseTimeline('Where a commit of the scripted change goes (library call, overlay; gzip before, the default after; medians)', [...recorded.versions, { name: label, total, phases: thisRun }]);
}

/** The shell line that applies the scripted change to the tree at "$root" (for peers' prepare steps). */
function changeLine(n: number): string {
  return `node -e 'require(process.argv[1]).scriptedChange(process.argv[2], ${n})' ${path.join(__dirname, 'scripted-change.js')} "$root"`;
}

async function buildahCommit(ctx: Ctx, s: PeerStorage, n: number): Promise<Subject> {
  const name = `buildah commit (${s.driver})`;
  const unavailable = s.unavailable((t) => ctx.peers.missing(t), 'buildah');
  if (unavailable) return skippedSubject(name, unavailable);
  const B = s.buildah;
  const reset = `${B} rm --all >/dev/null; ${B} rmi bench-committed >/dev/null 2>&1; true`;
  return shellSubject(ctx, {
    name,
    tool: 'buildah',
    cmd: `${B} commit -q bench-commit bench-committed >/dev/null`,
    prepare: `${reset}; ${B} from --pull-never --name bench-commit ${s.image()} >/dev/null && root=$(${B} mount bench-commit) && ${changeLine(n)}`,
    after: reset,
    runs: ctx.heavyRuns,
  });
}

export async function commitGroup(ctx: Ctx): Promise<GroupResult> {
  const { store, chain } = await ctx.sharedStore();
  const n = newFiles(ctx.quick);
  const change = (root: string) => scriptedChange(root, n);
  const rows: Row[] = [];
  const targets: Target[] = [];
  const charts: NonNullable<GroupResult['charts']> = [];
  const call = (driver: string, compression: Compression | undefined) => `container.commit(${compression ? `{ compression: '${compression}' }` : ''}), ${driver} driver, a fresh container with the change each run`;

  // umoci repack of the same change, on a copy of the layout (repack adds to it)
  let umoci: Subject;
  const missingUmoci = ctx.peers.missing('umoci');
  if (missingUmoci) umoci = skippedSubject('umoci repack', missingUmoci);
  else {
    const layout = path.join(ctx.work, 'layout');
    const bundle = path.join(ctx.work, 'bundle');
    sh(`cp -a ${ctx.data.layout} ${layout}`);
    umoci = await shellSubject(ctx, {
      name: 'umoci repack',
      tool: 'umoci',
      cmd: `umoci repack --image ${layout}:repacked ${bundle}`,
      prepare: `rm -rf ${bundle} && umoci unpack --image ${layout}:${ctx.data.tag} ${bundle} && root=${bundle}/rootfs && ${changeLine(n)}`,
      runs: ctx.heavyRuns,
    });
    removeTree(bundle);
    removeTree(layout);
  }
  const bo = await buildahCommit(ctx, ctx.peerStorage('overlay'), n);
  const bv = await buildahCommit(ctx, ctx.peerStorage('vfs'), n);

  if (ctx.peers.noOverlay) {
    targets.push(target('commit of the scripted change (overlay) at least 5x faster than umoci repack', null, ctx.peers.noOverlay));
  } else {
    const phaseRuns: PhaseRun[] = [];
    // the default: no compression asked, the tar is kept (gzip made when an export or push first needs it)
    const def = await commits(store, chain, 'overlay', undefined, ctx.runs, change, phaseRuns);
    const gz = await commits(store, chain, 'overlay', 'gzip', ctx.runs, change);
    const none = await commits(store, chain, 'overlay', 'none', ctx.quick ? 1 : ctx.runs, change);
    rows.push({ label: 'scripted change, overlay driver, the default (the tar kept, compressed on first export or push)', layerfs: { ...librarySubject('layerfs library', def.sample, call('overlay', undefined), 'commit'), extra: `blob ${kB(def.size)}` }, peers: [umoci, bo, bv] });
    rows.push({ label: 'scripted change, overlay driver, gzip', layerfs: { ...librarySubject('layerfs library', gz.sample, call('overlay', 'gzip'), 'commit'), extra: `blob ${kB(gz.size)}` }, peers: [umoci, bo, bv] });
    rows.push({ label: 'scripted change, overlay driver, uncompressed', layerfs: { ...librarySubject('layerfs library', none.sample, call('overlay', 'none'), 'commit'), extra: `blob ${kB(none.size)}` }, peers: [bo, bv] });
    // the user's case: the CLI, its default store format (gzip blobs), a fresh container's first
    // commit right after the change was written; buildah (uncompressed local layers) and umoci
    // (gzip) the same way, in the same run
    const cli = `node ${ctx.cli} --store ${store.root}`;
    const cliSubject = await shellSubject(ctx, {
      name: 'layerfs CLI: commit',
      cmd: `${cli} commit bench-commit >/dev/null`,
      prepare: `${cli} rm bench-commit >/dev/null 2>&1; ${cli} create bench --driver overlay --name bench-commit >/dev/null && root=$(${cli} mount bench-commit) && ${changeLine(n)}`,
      after: `${cli} rm bench-commit`,
      runs: ctx.quick ? 1 : ctx.runs,
    });
    rows.push({ label: 'scripted change, overlay driver, CLI (its default: the tar kept), fresh container, first commit right after the change', layerfs: cliSubject, peers: [umoci, bo] });
    // umoci repack writes gzip: held against the gzip commit, the default beside it
    targets.push(target('commit of the scripted change (overlay) at least 5x faster than umoci repack', med(umoci) ? med(umoci)! / gz.sample.median >= 5 : null, med(umoci) ? `${ratioText(med(umoci), gz.sample.median)} (gzip, library); the default: ${ratioText(med(umoci), def.sample.median)}` : umoci.skipped ?? ''));
    targets.push(
      target(
        'commit of the scripted change by the CLI (fresh container, first commit, right after the change) no slower than buildah commit (overlay)',
        med(bo) && med(cliSubject) ? med(cliSubject)! <= med(bo)! : null,
        med(bo) ? `${ratioText(med(bo), med(cliSubject))} (${ms(med(cliSubject) ?? NaN)} vs ${ms(med(bo)!)})` : bo.skipped ?? '',
      ),
    );
    targets.push(
      target(
        'commit of the scripted change, library call, at least 2x faster than buildah commit (overlay)',
        med(bo) ? 2 * def.sample.median <= med(bo)! : null,
        med(bo) ? `the default (the tar kept, as buildah stores it): ${ratioText(med(bo), def.sample.median)}; gzip: ${ratioText(med(bo), gz.sample.median)}, uncompressed: ${ratioText(med(bo), none.sample.median)}` : bo.skipped ?? '',
      ),
    );
    if (phaseRuns.length) charts.push({ file: 'commit-phases.svg', svg: phasesChart(medianPhases(phaseRuns), def.sample.median * 1000, `this run (${ctx.quick ? 'quick' : ctx.partial ? 'partial' : 'full'} bench data)`) });
  }
  const copy = await commits(store, chain, 'copy', 'gzip', ctx.heavyRuns, change);
  rows.push({ label: 'scripted change, copy driver, gzip', layerfs: librarySubject('layerfs library', copy.sample, call('copy', 'gzip'), 'commit'), peers: [umoci, bv] });

  // a 1-file change: the commit must not grow with the root
  if (!ctx.peers.noOverlay) {
    const big = await ctx.tenfoldChain();
    const oneFile = (root: string) => fs.appendFileSync(path.join(root, 'etc/os-release'), 'one change\n');
    const times: number[] = [];
    for (const [label, ch] of [['the image root', chain], [`a root ${big.factor}x larger`, big.chain]] as const) {
      const r = await commits(store, ch, 'overlay', 'gzip', ctx.runs, oneFile);
      rows.push({ label: `1-file change on ${label}, overlay, gzip`, layerfs: librarySubject('layerfs library', r.sample, call('overlay', 'gzip'), 'commit'), peers: [] });
      times.push(r.sample.median);
    }
    targets.push(target(`commit of a 1-file change costs the same on the root and on the ${big.factor}x root`, times[1] <= times[0] * 1.5 + 0.002, `${ms(times[0])} vs ${ms(times[1])}`));
  }
  return {
    section: {
      title: 'Commit of the scripted change',
      note: `The scripted change: ${describeChange(n)}. layerfs writes the layer tarball (hashing it; compressing it only when a compression is asked: by default the tar is kept and gzip is made when an image export or push first needs it, as buildah keeps its local layers) and the unpacked layer in one pass over the changed files; umoci repack writes a gzip layer into the layout; buildah commit writes an image into its containers-storage (layers uncompressed). Each run commits a fresh container that got the change untimed, right before. Where a commit's time goes (diff, plan, the one pass of pack and layer directory, publish), before the one-pass commit and after it: ${charts.length ? `![commit phases](${chartFile('commit-phases.svg', ctx.quick, ctx.partial)})` : '(not measured: no overlay here)'}.`,
      rows,
    },
    targets,
    charts,
  };
}
