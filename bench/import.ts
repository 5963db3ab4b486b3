/** 1. Import (unpack) the image into layers: layerfs against umoci, buildah's pull, containerd's import, and the GNU tar floor. */
import * as path from 'path';
import { summarise } from './lib/measure';
import type { Row, Subject } from './lib/report';
import { childLine, ChildResult, Ctx, fresh, GroupResult, hyperfineLine, med, mib, ratioText, removeTree, runChild, sh, shellSubject, skippedSubject, target, why } from './common';
import { PeerStorage } from './peer-storage';
import { containerdFor, doneWithContainerd } from './containerd';

/** Runs a child import `runs` times into a fresh store; the times, CPU and peak RSS it reports. */
/**
 * Run after each untimed prepare step of this group: a run writes over a gigabyte, and without it
 * the next run starts while that is still being written back, so a line measured later in the
 * group paid for the lines before it (the CLI line, run after the library's, stood 2.4 s above
 * it; interleaved, the two took the same time). Each run starts from a settled disk, as a
 * user's first import does.
 */
const SETTLE = 'sync';

function childImports(ctx: Ctx, runs: number, args: (store: string) => string[]): { results: ChildResult[]; subject: (name: string) => Subject } {
  const store = path.join(ctx.work, 'import-store');
  const results: ChildResult[] = [];
  for (let i = 0; i < runs; i++) {
    fresh(store);
    sh(SETTLE);
    results.push(runChild(args(store)));
  }
  removeTree(store);
  const cores = summarise(results.map((r) => r.cpuSeconds / r.seconds)).median;
  const rss = Math.max(...results.map((r) => r.peakRssBytes));
  return {
    results,
    subject: (name) => ({
      name,
      sample: summarise(results.map((r) => r.seconds)),
      command: `rm -rf STORE && ${childLine(args('STORE'))}`,
      extra: `CPU ${cores.toFixed(2)} cores (user+sys / wall); peak RSS ${mib(rss)}`,
    }),
  };
}

/**
 * containerd's import of the oci-archive with the unpack into its overlayfs snapshotter, on the
 * bench's private daemon; each run starts from a daemon with no image, content or snapshot.
 */
async function containerdImport(ctx: Ctx, runs: number): Promise<Subject> {
  const name = 'containerd import + unpack (overlayfs snapshotter)';
  const d = containerdFor(ctx);
  const cmd = `${d.importCommand('overlayfs', ctx.data.ociArchive)} >/dev/null`;
  const prepare = `${d.emptyCommand}; ${SETTLE}`;
  const command = hyperfineLine(runs, cmd, prepare);
  const missing = ctx.peers.missing('containerd') ?? ctx.peers.missing('ctr');
  if (missing) return skippedSubject(name, missing, command);
  const failed = d.start();
  if (failed) return skippedSubject(name, `could not run here: ${failed}`, command);
  try {
    // the prepare step must leave nothing behind, or the runs after the first would find the blobs there
    sh(prepare);
    if (!d.isEmpty()) throw new Error('removing the images left content or snapshots in containerd');
  } catch (e) {
    return skippedSubject(name, `could not run here: ${why(e)}`, command);
  }
  const s = await shellSubject(ctx, { name, tool: 'ctr', cmd, prepare, runs });
  d.forget();
  if (s.sample) s.extra = 'ctr (the client) reads the archive into the content store; the daemon verifies the blobs and unpacks each layer into an overlayfs snapshot';
  return s;
}

export async function importGroup(ctx: Ctx): Promise<GroupResult> {
  const { data } = ctx;
  const runs = ctx.heavyRuns;
  const dest = path.join(ctx.work, 'unpack');
  const prepDest = `rm -rf ${dest} && mkdir -p ${dest} && ${SETTLE}`;
  const rows: Row[] = [];

  // the whole image: the CLI as a user runs it, with the library call alone (in a child) beside it
  const lib = childImports(ctx, runs, (s) => ['import-image', s, data.ociArchive]);
  const libSubject = lib.subject('layerfs library: store.importImage(oci-archive)');
  // a quick run takes the library call alone (the CLI adds a Node start and the same work)
  const cliStore = path.join(ctx.work, 'import-cli-store');
  const cli = ctx.quick
    ? { ...libSubject, extra: `the library call, in a process of its own; ${libSubject.extra}` }
    : await shellSubject(ctx, { name: 'layerfs CLI: image import (oci-archive)', cmd: `node ${ctx.cli} --store ${cliStore} image import ${data.ociArchive} >/dev/null`, prepare: `rm -rf ${cliStore} && ${SETTLE}`, after: `rm -rf ${cliStore}`, runs });
  if (!ctx.quick) cli.extra = `library call alone: ${libSubject.sample!.median.toFixed(2)} s (${libSubject.sample!.min.toFixed(2)}–${libSubject.sample!.max.toFixed(2)}); ${libSubject.extra}`;
  const umoci = await shellSubject(ctx, { name: 'umoci unpack', tool: 'umoci', cmd: `umoci unpack --image ${data.layout}:${data.tag} ${dest}/bundle`, prepare: prepDest, runs });
  const raw = ctx.quick ? skippedSubject('umoci raw unpack', 'not in a quick run') : await shellSubject(ctx, { name: 'umoci raw unpack', tool: 'umoci', cmd: `umoci raw unpack --image ${data.layout}:${data.tag} ${dest}/rootfs`, prepare: prepDest, runs });
  const pull = new PeerStorage('overlay', path.join(ctx.work, 'pull'), data.ociArchive);
  const buildah = await shellSubject(ctx, { name: 'buildah pull oci-archive (containers-storage overlay: import + unpack)', tool: 'buildah', cmd: pull.pullCommand, prepare: `${pull.buildah} rmi --all --force >/dev/null 2>&1; ${SETTLE}`, runs });
  pull.destroy();
  let containerd: Subject;
  try {
    containerd = await containerdImport(ctx, runs);
  } finally {
    doneWithContainerd('import');
  }
  const floorCmd = data.plainLayers.map((l, i) => `mkdir -p ${dest}/l${i} && tar -xf ${l} -C ${dest}/l${i} && sha256sum ${l} >/dev/null`).join(' && ');
  const floor = await shellSubject(ctx, { name: 'floor: GNU tar -x + sha256sum of the uncompressed layers (one after the other)', tool: 'tar', cmd: floorCmd, prepare: prepDest, runs });
  const pad = (i: number) => (data.tarPadding[i] ? `; head -c ${data.tarPadding[i]} /dev/zero` : '');
  const pipeCmd = data.layerBlobs.map((b, i) => `mkdir -p ${dest}/p${i} && (pigz -dc ${b} | tee >(sha256sum >/dev/null)${pad(i)}) | tar -x -C ${dest}/p${i}`).join(' && ');
  const piped = ctx.quick ? skippedSubject('floor, pipelined', 'not in a quick run') : await shellSubject(ctx, { name: 'floor, pipelined: pigz -dc | tee >(sha256sum) | tar -x, layer by layer', tool: 'pigz', cmd: pipeCmd, prepare: prepDest, runs });
  rows.push({ label: `the whole image (${data.layerBlobs.length} layers)`, layerfs: cli, peers: [umoci, raw, buildah, containerd, floor, piped] });

  // the base root layer alone: many small files, where per-file cost shows
  const base = childImports(ctx, runs, (s) => ['import-layer', s, data.layerBlobs[0]]);
  const baseFloor = await shellSubject(ctx, { name: 'gzip -dc | tee >(sha256sum) | tar -x', tool: 'tar', cmd: `gzip -dc ${data.layerBlobs[0]} | tee >(sha256sum >/dev/null) | tar -x -C ${dest}`, prepare: prepDest, runs });
  rows.push({ label: 'the base root layer (small files)', layerfs: base.subject('layerfs library: store.importLayer(blob)'), peers: [baseFloor] });

  // the big-file layer: decompression and hashing throughput
  const bigBlob = data.layerBlobs[data.bigLayer];
  const big = childImports(ctx, runs, (s) => ['import-layer', s, bigBlob]);
  const gunzipSha = await shellSubject(ctx, { name: 'gzip -dc | sha256sum (no extraction)', tool: 'gzip', cmd: `gzip -dc ${bigBlob} | sha256sum >/dev/null`, runs });
  const bigFloor = await shellSubject(ctx, { name: 'gzip -dc | tee >(sha256sum) | tar -x', tool: 'tar', cmd: `gzip -dc ${bigBlob} | tee >(sha256sum >/dev/null) | tar -x -C ${dest}`, prepare: prepDest, runs });
  rows.push({ label: `the ${mib(data.bigFileBytes)}-file layer`, layerfs: big.subject('layerfs library: store.importLayer(blob)'), peers: [gunzipSha, bigFloor] });
  removeTree(dest);

  const lf = med(cli);
  const cores = summarise(lib.results.map((r) => r.cpuSeconds / r.seconds)).median;
  return {
    section: {
      title: 'Import the whole image into layers',
      note: 'layerfs verifies every blob digest and DiffID, keeps the blobs, and unpacks each layer into its own directory; umoci unpack also writes an mtree manifest of the flattened bundle; buildah pull also stores each layer; containerd runs as a private daemon of the bench (bench/containerd.ts: its root on the scratch filesystem, started with `containerd --config $WORK/containerd/config.toml`, which its lines\' commands need running), keeps the blobs in its content store and unpacks into snapshots. The floors do no verification and keep nothing. Every run starts after a `sync` (untimed, in its prepare step), so no run pays for the writeback of the one before.',
      rows,
    },
    targets: [
      target(`import of the whole image at least 2.5x faster than umoci unpack (${ctx.quick ? 'library' : 'CLI'}; the first round asked 1.5x, the second keeps 2.5x)`, med(umoci) && lf ? med(umoci)! / lf >= 2.5 : null, med(umoci) ? ratioText(med(umoci), lf) : umoci.skipped ?? ''),
      target(
        `import faster than containerd's import+unpack (${ctx.quick ? 'library' : 'CLI'} against ctr)`,
        med(containerd) && lf ? lf < med(containerd)! : null,
        med(containerd) ? `${ratioText(med(containerd), lf)} (containerd ${med(containerd)!.toFixed(2)} s); against buildah pull: ${buildah.sample ? ratioText(med(buildah), lf) : buildah.skipped}` : `containerd: ${containerd.skipped}; against buildah pull (the same work into containers-storage overlay): ${buildah.sample ? ratioText(med(buildah), lf) : buildah.skipped}`,
      ),
      target('import overlaps decompression, hashing and writing (uses more than 1.2 cores)', cores > 1.2, `${cores.toFixed(2)} cores on average over the whole-image import`),
    ],
  };
}
