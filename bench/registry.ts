/**
 * 9. Registries: the bench image served by a private docker-registry on 127.0.0.1 (plain HTTP,
 * filesystem storage on the scratch filesystem). `layerfs pull` (pull + unpack into layers)
 * against `podman pull` (containers-storage overlay), containerd's `ctr pull` (overlayfs
 * snapshotter) and layerfs's own `image import` of the same image from a local layout;
 * `layerfs push` against `skopeo copy oci:… docker://…` into an emptied registry; and a re-push
 * after a one-file commit, counting the bytes sent. The pulls, the CLI's pull, the import and
 * podman's pull take turns round by round, as the pushes do.
 */
import * as fs from 'fs';
import * as path from 'path';
import { summarise } from './lib/measure';
import type { Row, Subject, Target } from './lib/report';
import { spawnSync } from 'child_process';
import { childLine, ChildResult, Ctx, fresh, GroupResult, hyperfineLine, med, mib, ratioText, removeTree, runChild, sh, shellSubject, skippedSubject, target, timeSh } from './common';
import { PeerStorage } from './peer-storage';
import { containerdFor, doneWithContainerd } from './containerd';
import { startRegistry, registryUnmet, type RegistryServer } from '../test/registry/registry-server';
import { LayerStore } from '../lib/layer-store';

/** One line of an interleaved measure: its untimed prepare step and its timed run. */
interface Turn {
  name: string;
  prepare: () => void;
  run: () => ChildResult;
}

/**
 * Runs every turn `runs` times, round by round, each round in a rotated order (ABC, BCA, CAB…),
 * so that a machine getting busier or quieter during the runs weighs on every line alike. Each
 * run comes after its prepare step and a `sync` (untimed: the last run's writeback is not this
 * run's). A turn that fails is dropped from the later rounds; its reason is kept.
 */
function takeTurns(runs: number, turns: Turn[]): Map<string, { results: ChildResult[]; failed?: string }> {
  const out = new Map(turns.map((t) => [t.name, { results: [] as ChildResult[], failed: undefined as string | undefined }]));
  for (let r = 0; r < runs; r++) {
    for (let k = 0; k < turns.length; k++) {
      const t = turns[(r + k) % turns.length];
      const got = out.get(t.name)!;
      if (got.failed) continue;
      try {
        t.prepare();
        sh('sync');
        got.results.push(t.run());
      } catch (e) {
        got.failed = `could not run here: ${(e as Error).message.split('\n')[0].slice(0, 200)}`;
      }
    }
  }
  return out;
}

/** The subject of a turn's runs: its time, and for a child its CPU and peak RSS. */
function turnSubject(name: string, command: string, got: { results: ChildResult[]; failed?: string }): Subject {
  if (got.failed) return skippedSubject(name, got.failed, command);
  const { results } = got;
  const rss = Math.max(...results.map((r) => r.peakRssBytes));
  const cores = summarise(results.map((r) => r.cpuSeconds / r.seconds)).median;
  return { name, sample: summarise(results.map((r) => r.seconds)), command, extra: rss ? `CPU ${cores.toFixed(2)} cores (user+sys / wall); peak RSS ${mib(rss)}` : undefined };
}

/** A shell command timed as a turn (wall seconds only). */
const shellRun = (cmd: string) => (): ChildResult => ({ seconds: timeSh(cmd), cpuSeconds: 0, peakRssBytes: 0 });

const GNU_TIME = '/usr/bin/time';

/**
 * A command timed as a turn, with its CPU and peak RSS (its maximum resident set: worker threads
 * are in it) from GNU time, when installed (package `time`); else its wall time only.
 */
const measuredRun = (cmd: string, work: string) => (): ChildResult => {
  if (!fs.existsSync(GNU_TIME)) return shellRun(cmd)();
  const out = path.join(work, 'gnu-time.out');
  const seconds = timeSh(`${GNU_TIME} -f '%U %S %M' -o ${out} ${cmd}`);
  const [user, sys, maxKb] = fs.readFileSync(out, 'utf8').trim().split(/\s+/).map(Number);
  fs.rmSync(out, { force: true });
  return { seconds, cpuSeconds: user + sys, peakRssBytes: maxKb * 1024 };
};

export async function registryGroup(ctx: Ctx): Promise<GroupResult> {
  const { data } = ctx;
  const runs = ctx.heavyRuns;
  const rows: Row[] = [];
  const targets: Target[] = [];
  const unmetReg = registryUnmet();
  if (unmetReg.length) {
    const why = unmetReg.join('; ');
    rows.push({ label: 'pull of the whole image', layerfs: skippedSubject('layerfs pull', why), peers: [] });
    return { section: { title: 'Registries: pull and push', note: why, rows }, targets: [target('layerfs pull at least 2x faster than podman pull', null, why)] };
  }
  const servers: RegistryServer[] = [];
  try {
    const src = await startRegistry({ storageDir: fresh(path.join(ctx.work, 'registry-src')) });
    servers.push(src);
    const ref = `${src.host}/bench/image:v1`;
    sh(`skopeo --insecure-policy copy -q --dest-tls-verify=false oci:${data.layout}:${data.tag} docker://${ref}`);

    // pull: layerfs (library, in a child: its own time, CPU and RSS; and the CLI) against its own import of the same layout and podman, taking turns
    const store = path.join(ctx.work, 'pull-store');
    const cliStore = path.join(ctx.work, 'pull-cli-store');
    const peer = new PeerStorage('overlay', path.join(ctx.work, 'podman-pull'), data.ociArchive);
    const names = { pull: 'layerfs library: store.pull(docker://…)', cli: 'layerfs CLI: pull --tls-verify=false', imp: 'layerfs library: store.importImage(the same image, an OCI layout)', podman: 'podman pull (containers-storage overlay)' };
    const cmds = {
      pull: `rm -rf STORE && sync && ${childLine(['pull', 'STORE', ref])}`,
      cli: hyperfineLine(runs, `node ${ctx.cli} --store ${cliStore} pull --tls-verify=false ${ref} >/dev/null`, `rm -rf ${cliStore}; sync`),
      imp: `rm -rf STORE && sync && ${childLine(['import-image', 'STORE', `${data.layout}:${data.tag}`])}`,
      podman: hyperfineLine(runs, `${peer.podman} pull -q --tls-verify=false docker://${ref} >/dev/null`, `${peer.podman} rmi --all --force >/dev/null 2>&1; sync`),
    };
    const podmanMissing = ctx.peers.missing('podman');
    const turns: Turn[] = [
      { name: names.pull, prepare: () => fresh(store), run: () => runChild(['pull', store, ref]) },
      { name: names.cli, prepare: () => removeTree(cliStore), run: measuredRun(`node ${ctx.cli} --store ${cliStore} pull --tls-verify=false ${ref} >/dev/null`, ctx.work) },
      { name: names.imp, prepare: () => fresh(store), run: () => runChild(['import-image', store, `${data.layout}:${data.tag}`]) },
      ...(podmanMissing ? [] : [{ name: names.podman, prepare: () => void spawnSync('bash', ['-c', `${peer.podman} rmi --all --force >/dev/null 2>&1`], { stdio: 'ignore' }), run: shellRun(`${peer.podman} pull -q --tls-verify=false docker://${ref} >/dev/null`) }]),
    ];
    const taken = takeTurns(runs, turns);
    removeTree(cliStore);
    const pullResults = taken.get(names.pull)!;
    if (pullResults.failed) throw new Error(`layerfs pull: ${pullResults.failed}`);
    const pull = { results: pullResults.results, subject: turnSubject(names.pull, cmds.pull, pullResults) };
    const cli = turnSubject(names.cli, cmds.cli, taken.get(names.cli)!);
    const imp = { subject: turnSubject(names.imp, cmds.imp, taken.get(names.imp)!) };
    const podman = podmanMissing ? skippedSubject(names.podman, podmanMissing, cmds.podman) : turnSubject(names.podman, cmds.podman, taken.get(names.podman)!);
    peer.destroy();
    let ctr: Subject;
    try {
      const d = containerdFor(ctx);
      const missing = ctx.peers.missing('containerd') ?? ctx.peers.missing('ctr');
      const cmd = `${d.ctr} images pull --plain-http --snapshotter overlayfs ${ref} >/dev/null`;
      const failed = missing ?? d.start();
      ctr = failed ? skippedSubject('ctr pull (overlayfs snapshotter)', failed, cmd) : await shellSubject(ctx, { name: 'ctr pull (containerd, overlayfs snapshotter: pull + unpack)', tool: 'ctr', cmd, prepare: `${d.emptyCommand}; sync`, runs });
      if (!failed) sh(d.emptyCommand);
    } finally {
      doneWithContainerd('registry');
    }
    console.log(`  pull: layerfs ${med(pull.subject)?.toFixed(2)} s (CLI ${med(cli)?.toFixed(2) ?? cli.skipped}), its import ${med(imp.subject)?.toFixed(2)} s, podman ${med(podman)?.toFixed(2) ?? podman.skipped}, ctr ${med(ctr)?.toFixed(2) ?? ctr.skipped}; ${pull.subject.extra}`);
    rows.push({ label: `pull the whole image (${data.layerBlobs.length} layers) from a loopback registry`, layerfs: pull.subject, peers: [cli, imp.subject, podman, ctr] });
    // the targets name `layerfs pull`, the command a user runs: judged on the CLI's line, with the library call's beside it
    const lp = med(pull.subject);
    const lc = med(cli) ?? lp;
    const against = (peer: Subject) => (med(peer) ? `CLI ${ratioText(med(peer), lc)}, library call ${ratioText(med(peer), lp)}` : peer.skipped ?? '');
    targets.push(target('layerfs pull at least 2x faster than podman pull (overlay)', med(podman) && lc ? med(podman)! / lc >= 2 : null, against(podman)));
    targets.push(target("layerfs pull at least 2x faster than containerd's ctr pull (overlayfs)", med(ctr) && lc ? med(ctr)! / lc >= 2 : null, against(ctr)));
    // an import is measured as a library call, so the pull is too: like for like
    targets.push(target('layerfs pull within 1.15x of its own image import of the same image', med(imp.subject) && lp ? lp / med(imp.subject)! <= 1.15 : null, med(imp.subject) && lp ? `${(lp / med(imp.subject)!).toFixed(2)}x the import's time (library calls)` : ''));
    const rss = Math.max(...pull.results.map((r) => r.peakRssBytes));
    const cliResults = taken.get(names.cli)!.results;
    const cliRss = cliResults.length ? Math.max(...cliResults.map((r) => r.peakRssBytes)) : 0;
    const worst = Math.max(rss, cliRss);
    targets.push(target('peak RSS of a pull under 150 MB', worst < 150e6, `library call ${mib(rss)} (VmHWM), CLI ${cliRss ? `${mib(cliRss)} (GNU time's maximum RSS)` : 'not measured (GNU time is not installed)'}; worker threads included, the larger judged`));

    // push: each run into a fresh registry (new storage, new port: neither layerfs's blob origins nor skopeo's blob-info cache can mount from an earlier run)
    fresh(store);
    const s = await LayerStore.open(store);
    await s.importImage(`${data.layout}:${data.tag}`, { name: 'bench' });
    const dstDir = path.join(ctx.work, 'registry-dst');
    const freshRegistry = async (): Promise<RegistryServer> => {
      if (servers.length > 1) await servers.pop()!.stop();
      const r = await startRegistry({ storageDir: fresh(dstDir) });
      servers.push(r);
      return r;
    };
    const pushOne = (host: string): ChildResult => runChild(['push', store, 'bench', `${host}/bench/pushed:v1`]);
    const skopeoOne = (host: string): ChildResult => {
      const t0 = process.hrtime.bigint();
      sh(`skopeo --insecure-policy copy -q --dest-tls-verify=false oci:${data.layout}:${data.tag} docker://${host}/bench/pushed:v1`);
      return { seconds: Number(process.hrtime.bigint() - t0) / 1e9, cpuSeconds: 0, peakRssBytes: 0 };
    };
    // the two tools take turns, in the order ABBA…, so that a machine getting busier or quieter during the runs weighs on both alike
    const ours: ChildResult[] = [];
    const theirs: ChildResult[] = [];
    let failure: string | undefined;
    try {
      for (let i = 0; i < runs; i++) {
        const order = i % 2 === 0 ? ['layerfs', 'skopeo'] : ['skopeo', 'layerfs'];
        for (const who of order) {
          const host = (await freshRegistry()).host;
          sh('sync'); // untimed: the last run's writes are not this run's
          if (who === 'layerfs') ours.push(pushOne(host));
          else theirs.push(skopeoOne(host));
        }
      }
    } catch (e) {
      failure = `could not run here: ${(e as Error).message.split('\n')[0].slice(0, 200)}`;
    }
    const subjectOf = (label: string, command: string, results: ChildResult[]): Subject => {
      if (failure) return skippedSubject(label, failure, command);
      const rss = Math.max(...results.map((r) => r.peakRssBytes));
      return { name: label, sample: summarise(results.map((r) => r.seconds)), command, extra: rss ? `peak RSS ${mib(rss)}` : undefined };
    };
    const pushSubject = subjectOf('layerfs library: store.push(image, docker://…)', `(a fresh registry) && ${childLine(['push', 'STORE', 'bench', 'HOST/bench/pushed:v1'])}`, ours);
    const skopeoSubject = subjectOf('skopeo copy oci:… docker://…', `(a fresh registry) && skopeo --insecure-policy copy --dest-tls-verify=false oci:$CACHE/layout:${data.tag} docker://HOST/bench/pushed:v1`, theirs);
    console.log(`  push: layerfs ${med(pushSubject)?.toFixed(2) ?? pushSubject.skipped} s, skopeo ${med(skopeoSubject)?.toFixed(2) ?? skopeoSubject.skipped} s`);
    rows.push({ label: 'push the whole image to an empty loopback registry', layerfs: pushSubject, peers: [skopeoSubject] });
    targets.push(target('layerfs push no slower than skopeo copy oci:… docker://…', med(skopeoSubject) && med(pushSubject) ? med(pushSubject)! <= med(skopeoSubject)! : null, med(skopeoSubject) ? ratioText(med(skopeoSubject), med(pushSubject)) : skopeoSubject.skipped ?? ''));

    // a re-push after a one-file commit: only the new layer and the config go
    try {
      const dst = await freshRegistry();
      runChild(['push', store, 'bench', `${dst.host}/bench/pushed:v1`]);
      const c = await s.createContainer('bench', { driver: 'auto' });
      fs.writeFileSync(path.join(await c.mount(), 'one-new-file.txt'), 'one new file\n');
      const top = (await c.commit()).chainId;
      await c.remove();
      const re = runChild(['push', store, top, `${dst.host}/bench/derived:v2`, 'bench']);
      const layer = s.getLayerSync(top);
      console.log(`  re-push: ${re.bytes} bytes sent (new layer ${layer.size} bytes), ${re.seconds.toFixed(2)} s`);
      rows.push({
        label: 'a re-push after a one-file commit (to another repository of the registry)',
        layerfs: { name: 'layerfs library: store.push(chain, --from bench)', sample: summarise([re.seconds]), command: childLine(['push', 'STORE', 'CHAIN', 'HOST/bench/derived:v2', 'bench']), extra: `sent ${re.bytes} bytes: the new layer is ${layer.size} bytes, the rest the config; the base's ${data.layerBlobs.length} layers were mounted; peak RSS ${mib(re.peakRssBytes)}` },
        peers: [],
      });
      targets.push(target("a re-push after a one-file commit sends only the new layer's bytes (and the config)", re.bytes !== undefined ? re.bytes < layer.size + 64 * 1024 : null, `${re.bytes} bytes sent; the new layer ${layer.size} bytes`));
    } catch (e) {
      targets.push(target("a re-push after a one-file commit sends only the new layer's bytes", null, `could not run here: ${(e as Error).message.split('\n')[0].slice(0, 200)}`));
    }
    removeTree(store);
  } finally {
    for (const srv of servers) await srv.stop();
  }
  return {
    section: {
      title: 'Registries: pull and push',
      note: 'A private docker-registry (distribution 2.8) on 127.0.0.1 in plain HTTP serves the bench image (pushed into it once by skopeo). layerfs pull streams each layer from the socket into the store in one pass (digest, decompression, DiffID, apply) and keeps the blobs; podman pull writes containers-storage overlay; ctr pull fetches into containerd\'s content store, then unpacks into overlayfs snapshots. Each push goes to a fresh second registry (new storage and port), so nothing can be mounted from an earlier run.',
      rows,
    },
    targets,
  };
}
