/**
 * 2. Create and mount a container on the image: the overlay driver, the copy driver on ext4 and
 * on a reflink filesystem (XFS on a loop device; the big file's clone and the small files also apart), against buildah (overlay, vfs), containerd's
 * snapshotters (overlayfs, native) and cp -a.
 */
import * as fs from 'fs';
import * as path from 'path';
import { LayerStore } from '../lib/layer-store';
import type { Container } from '../lib/container';
import { measure, summarise } from './lib/measure';
import { FileCopier } from '../lib/drivers/file-copy';
import type { Row, Subject, Target } from './lib/report';
import { Ctx, fresh, GroupResult, hyperfineLine, librarySubject, med, ms, ratioText, removeTree, settle, sh, shellSubject, skippedSubject, target, why } from './common';
import type { PeerStorage } from './peer-storage';
import { containerdFor, doneWithContainerd } from './containerd';

/** Times createContainer + mount on `chain`, removing the containers untimed after each run. */
async function createMount(store: LayerStore, chain: string, driver: 'overlay' | 'copy', runs: number) {
  const made: Container[] = [];
  if (driver === 'overlay') {
    // the first overlay mount of a store probes what the kernel accepts: not part of the timing
    const c = await store.createContainer(chain, { driver });
    await c.mount();
    await c.remove();
  }
  return measure(
    runs,
    async () => {
      const c = await store.createContainer(chain, { driver });
      await c.mount();
      made.push(c);
    },
    undefined,
    async () => {
      for (const c of made.splice(0)) await c.remove();
      await settle(store);
      // a copy run writes and deletes tens of thousands of files: without a sync the next run
      // starts while the filesystem still writes back (XFS also frees the deleted ones late)
      if (driver === 'copy') sh('sync');
    },
  );
}

/** A store on a fresh XFS with reflinks (a loop-mounted image file), holding the bench image. */
async function xfsStore(ctx: Ctx, mnt: string, img: string): Promise<{ store: LayerStore; chain: string }> {
  const size = 3 * fs.statSync(ctx.data.ociArchive).size + (1 << 30);
  sh(`truncate -s ${size} ${img} && mkfs.xfs -q -m reflink=1 ${img} && mount -o loop ${img} ${mnt}`);
  const store = await LayerStore.open(path.join(mnt, 'store'));
  const rec = await store.importImage(ctx.data.ociArchive, { name: 'bench' });
  return { store, chain: rec.chain };
}

/** Entries of the chain's union (the view's walk), for the row's label. */
function countEntries(store: LayerStore, chain: string): number {
  let n = 0;
  for (const _ of store.view(chain).walkSync()) n++;
  return n;
}

/**
 * Times the copy of the image's big file (big.bin, in the big file's layer) to a new file under
 * `dir` (on the store's filesystem) with the copy driver's own file copier; each copy is removed,
 * untimed, before the next.
 */
async function cloneBig(store: LayerStore, chain: string, ctx: Ctx, dir: string, runs: number) {
  const src = path.join(store.paths.layerDiff(store.chainSync(chain)[ctx.data.bigLayer].chainId), 'big.bin');
  const st = fs.statSync(src);
  fs.mkdirSync(dir, { recursive: true });
  const dest = path.join(dir, 'big.bin');
  try {
    return await measure(
      runs,
      () => new FileCopier({ exclusive: true }).copy(src, dest, { size: st.size, blocks: st.blocks }),
      () => fs.rmSync(dest, { force: true }),
    );
  } finally {
    removeTree(dir);
  }
}

/** createMount of `a` and of `b`, one run each in turn (A B A B ...), so both see the same load. */
async function interleaved(runs: number, a: [LayerStore, string], b: [LayerStore, string]) {
  const ta: number[] = [];
  const tb: number[] = [];
  for (let i = 0; i < runs; i++) {
    ta.push(...(await createMount(a[0], a[1], 'copy', 1)).times);
    tb.push(...(await createMount(b[0], b[1], 'copy', 1)).times);
  }
  return [summarise(ta), summarise(tb)];
}

/** cp -a on XFS of the union of `small`: a copy container of it made once (untimed) is the source, so both copy the same files. */
async function cpOfSmall(ctx: Ctx, mnt: string, store: LayerStore, small: string): Promise<Subject> {
  const source = await store.createContainer(small, { driver: 'copy' });
  const dest = path.join(mnt, 'cp-small');
  try {
    return await shellSubject(ctx, { name: 'cp -a of the same files on XFS', tool: 'cp', cmd: `cp -a ${source.path} ${dest}/root`, prepare: `rm -rf ${dest} && mkdir -p ${dest} && sync`, after: `rm -rf ${dest}`, runs: ctx.heavyRuns });
  } finally {
    await source.remove();
  }
}

/** buildah from + mount on its own storage, each run from a storage with no containers. */
async function buildahFrom(ctx: Ctx, name: string, s: PeerStorage, runs: number): Promise<Subject> {
  const unavailable = s.unavailable((t) => ctx.peers.missing(t), 'buildah');
  if (unavailable) return skippedSubject(name, unavailable);
  return shellSubject(ctx, { name, tool: 'buildah', cmd: `c=$(${s.buildah} from --pull-never ${s.image()}) && ${s.buildah} mount $c >/dev/null`, prepare: `${s.buildah} rm --all >/dev/null; sync`, after: `${s.buildah} rm --all`, runs });
}

/**
 * containerd's create + mount: `ctr snapshots prepare --target` of an active snapshot on the
 * image's top snapshot (its ChainID), and the mount that it prints, on the bench's private
 * daemon holding the image unpacked with `snapshotter` (overlayfs: an overlay mount; native: a
 * copy of the parent's tree and a bind mount).
 */
async function containerdPrepare(ctx: Ctx, name: string, snapshotter: 'overlayfs' | 'native', chain: string, runs: number): Promise<Subject> {
  const d = containerdFor(ctx);
  const mnt = path.join(ctx.work, `containerd-mnt-${snapshotter}`);
  const key = `bench-${snapshotter}`;
  const snap = `${d.ctr} snapshots --snapshotter ${snapshotter}`;
  const cmd = `m=$(${snap} prepare --target ${mnt} ${key} ${chain}) && eval "$m"`;
  const prepare = `umount ${mnt} 2>/dev/null; ${snap} rm ${key} 2>/dev/null; mkdir -p ${mnt}; sync`;
  const command = hyperfineLine(runs, cmd, prepare);
  const missing = ctx.peers.missing('containerd') ?? ctx.peers.missing('ctr');
  if (missing) return skippedSubject(name, missing, command);
  try {
    d.unpack(snapshotter, ctx.data.ociArchive, chain);
  } catch (e) {
    return skippedSubject(name, `could not run here: ${why(e)}`, command);
  }
  const s = await shellSubject(ctx, { name, tool: 'ctr', cmd, prepare, after: `${prepare}; rmdir ${mnt}`, runs });
  if (s.sample) s.extra = `the image unpacked into the ${snapshotter} snapshotter beforehand (untimed)`;
  return s;
}

export async function containerGroup(ctx: Ctx): Promise<GroupResult> {
  try {
    return await containerRows(ctx);
  } finally {
    doneWithContainerd('container');
  }
}

async function containerRows(ctx: Ctx): Promise<GroupResult> {
  const { store, chain } = await ctx.sharedStore();
  const rows: Row[] = [];
  const targets: Target[] = [];

  // overlay: the library call, then the CLI against buildah's CLI
  const buildahOverlay = await buildahFrom(ctx, 'buildah from + buildah mount (overlay)', ctx.peerStorage('overlay'), ctx.runs);
  const ctrdOverlay = await containerdPrepare(ctx, 'containerd: ctr snapshots prepare + mount (overlayfs snapshotter)', 'overlayfs', chain, ctx.runs);
  if (ctx.peers.noOverlay) {
    rows.push({ label: 'create + mount, overlay driver', layerfs: skippedSubject('layerfs library', ctx.peers.noOverlay), peers: [buildahOverlay, ctrdOverlay] });
    targets.push(target('container create+mount (overlay): library call under 20 ms', null, ctx.peers.noOverlay));
  } else {
    const s = await createMount(store, chain, 'overlay', ctx.runs);
    rows.push({ label: 'create + mount, overlay driver', layerfs: librarySubject('layerfs library', s, "store.createContainer(chain, { driver: 'overlay' }) + container.mount()", 'container'), peers: [buildahOverlay, ctrdOverlay] });
    targets.push(target('container create+mount (overlay): library call under 20 ms', s.median < 0.02, ms(s.median)));
    const cli = `node ${ctx.cli} --store ${store.root}`;
    const cliSubject = await shellSubject(ctx, { name: 'layerfs CLI: create + mount', cmd: `id=$(${cli} create bench --driver overlay --name bench-cli) && ${cli} mount $id >/dev/null`, prepare: `${cli} rm bench-cli >/dev/null 2>&1; true`, after: `${cli} rm bench-cli`, runs: ctx.runs });
    rows.push({ label: 'create + mount, overlay driver, CLI (two commands)', layerfs: cliSubject, peers: [buildahOverlay, ctrdOverlay] });
    // one command, as a script would write it: `create --mount` prints the id and the mounted path
    const oneSubject = await shellSubject(ctx, { name: 'layerfs CLI: create --mount', cmd: `${cli} create bench --driver overlay --name bench-cli --mount >/dev/null`, prepare: `${cli} rm bench-cli >/dev/null 2>&1; true`, after: `${cli} rm bench-cli`, runs: ctx.runs });
    rows.push({ label: 'create + mount, overlay driver, CLI (one command)', layerfs: oneSubject, peers: [buildahOverlay, ctrdOverlay] });
    const one = med(oneSubject);
    const two = med(cliSubject);
    const bo = med(buildahOverlay);
    targets.push(target('container create+mount (overlay): CLI within 2x of buildah from + mount (layerfs create --mount)', one && bo ? one <= 2 * bo : null, bo ? `${ms(one ?? NaN)} vs buildah ${ms(bo)} (${ratioText(bo, one)}); as two commands, create then mount: ${ms(two ?? NaN)} (${ratioText(bo, two)})` : buildahOverlay.skipped ?? ''));
  }

  // copy driver on the store's filesystem against cp -a of the flattened root and buildah's vfs driver
  const flat = fresh(path.join(ctx.work, 'flat'));
  sh(`umoci raw unpack --image ${ctx.data.layout}:${ctx.data.tag} ${flat}/root`);
  const cpDest = path.join(ctx.work, 'cp');
  const cp = await shellSubject(ctx, { name: 'cp -a of the flattened root', tool: 'cp', cmd: `cp -a ${flat}/root ${cpDest}/root`, prepare: `rm -rf ${cpDest} && mkdir -p ${cpDest} && sync`, after: `rm -rf ${cpDest}`, runs: ctx.heavyRuns });
  removeTree(flat);
  const vfs = await buildahFrom(ctx, 'buildah from + buildah mount (vfs)', ctx.peerStorage('vfs'), ctx.heavyRuns);
  const ctrdNative = await containerdPrepare(ctx, 'containerd: ctr snapshots prepare + mount (native snapshotter: a copy)', 'native', chain, ctx.heavyRuns);
  const fsType = sh(`findmnt -n -o FSTYPE --target ${store.root}`).trim();
  const copy = await createMount(store, chain, 'copy', ctx.heavyRuns);
  const copySubject = librarySubject('layerfs library', copy, "store.createContainer(chain, { driver: 'copy' }) + container.mount()", 'container');
  rows.push({ label: `create + mount, copy driver (${fsType})`, layerfs: copySubject, peers: [cp, vfs, ctrdNative] });
  targets.push(target(`copy driver container on ${fsType} faster than cp -a`, med(cp) ? copy.median < med(cp)! : null, med(cp) ? ratioText(med(cp), copy.median) : cp.skipped ?? ''));
  targets.push(target(`copy driver container on ${fsType} at least 1.5x faster than buildah's vfs`, med(vfs) ? med(vfs)! / copy.median >= 1.5 : null, med(vfs) ? ratioText(med(vfs), copy.median) : vfs.skipped ?? ''));

  // copy driver on a reflink filesystem: the whole image, then its two parts apart (the big file's
  // clone, and the small files against the same on the store's filesystem, run interleaved)
  const small = store.chainSync(chain)[ctx.data.bigLayer - 1].chainId;
  const smallEntries = countEntries(store, small);
  const smallLabel = `the small files (the chain below the big file's layer: ${smallEntries} entries)`;
  const bigName = `the ${ctx.data.bigFileBytes >> 20} MiB file (big.bin)`;
  const noXfs = ctx.peers.missing('mkfs.xfs') ?? (process.getuid?.() !== 0 ? 'loop mounts need root' : undefined);
  let xfsSubject: Subject;
  let cloneSubject: Subject;
  let smallXfs: Subject;
  let smallHere: Subject = skippedSubject(`layerfs copy driver on ${fsType}`, noXfs ?? '');
  let cpSmallXfs: Subject = skippedSubject('cp -a of the same files on XFS', noXfs ?? '');
  const copyHere = await cloneBig(store, chain, ctx, path.join(ctx.work, 'big-copy'), ctx.heavyRuns);
  const copyHereSubject = librarySubject(`the same copy on ${fsType} (copy_file_range)`, copyHere, `new FileCopier().copy(big.bin, NEW) on ${fsType}`, 'container');
  if (noXfs) {
    xfsSubject = skippedSubject('layerfs library', noXfs);
    cloneSubject = skippedSubject('layerfs library', noXfs);
    smallXfs = skippedSubject('layerfs library', noXfs);
  } else {
    const mnt = fresh(path.join(ctx.work, 'xfs'));
    // the image file lives beside the scratch directory, not inside it (which may be a loop mount itself)
    const img = `${ctx.work}.xfs`;
    try {
      const x = await xfsStore(ctx, mnt, img);
      const s = await createMount(x.store, x.chain, 'copy', ctx.quick ? ctx.heavyRuns : ctx.runs);
      xfsSubject = librarySubject('layerfs library', s, "store.createContainer(chain, { driver: 'copy' }) + container.mount(), store on XFS (reflink=1, loop device)", 'container');
      const clone = await cloneBig(x.store, x.chain, ctx, path.join(mnt, 'big-copy'), ctx.runs);
      cloneSubject = librarySubject('layerfs library: a clone (FICLONE)', clone, 'new FileCopier().copy(big.bin, NEW) on XFS, as the copy driver copies a file (lib/drivers/file-copy.ts)', 'container');
      const [sx, sh4] = await interleaved(ctx.quick ? ctx.heavyRuns : ctx.runs, [x.store, small], [store, small]);
      smallXfs = librarySubject('layerfs library', sx, `store.createContainer(SMALL, { driver: 'copy' }) + container.mount(), store on XFS, SMALL the chain below the big file's layer; run interleaved with the ${fsType} line`, 'container');
      smallHere = librarySubject(`layerfs copy driver on ${fsType}`, sh4, `store.createContainer(SMALL, { driver: 'copy' }) + container.mount() on ${fsType}, interleaved with the XFS line`, 'container');
      // cp -a of the same files on XFS: the per-file cost the copy driver is held against
      cpSmallXfs = await cpOfSmall(ctx, mnt, x.store, small);
    } catch (e) {
      const reason = `could not make or use a loop-mounted XFS here: ${why(e)}`;
      xfsSubject = skippedSubject('layerfs library', reason);
      cloneSubject = skippedSubject('layerfs library', reason);
      smallXfs = skippedSubject('layerfs library', reason);
    } finally {
      removeTree(mnt);
      fs.rmSync(img, { force: true });
    }
  }
  rows.push({ label: 'create + mount, copy driver (xfs, reflinks)', layerfs: xfsSubject, peers: [{ ...copySubject, name: `layerfs copy driver on ${fsType}` }] });
  rows.push({ label: `copy of ${bigName}, XFS`, layerfs: cloneSubject, peers: [copyHereSubject] });
  rows.push({ label: `create + mount, copy driver (xfs): ${smallLabel}`, layerfs: smallXfs, peers: [smallHere, cpSmallXfs] });
  const cl = med(cloneSubject);
  targets.push(target(`copy driver on a reflink filesystem (XFS): ${bigName} is cloned in under 10 ms`, cl !== undefined ? cl < 0.01 : null, cl !== undefined ? `${ms(cl)} (on ${fsType}, copy_file_range: ${ms(copyHere.median)}); the whole image on XFS ${ms(med(xfsSubject) ?? NaN)} vs ${ms(copy.median)} on ${fsType}` : cloneSubject.skipped ?? ''));
  const sx = med(smallXfs);
  const s4 = med(smallHere);
  targets.push(target(`copy driver on a reflink filesystem (XFS): the small files no slower than on ${fsType}`, sx && s4 ? sx <= s4 : null, sx && s4 ? `${ratioText(s4, sx)} (${ms(sx)} vs ${ms(s4)}, interleaved); cp -a of the same files on XFS: ${med(cpSmallXfs) ? ms(med(cpSmallXfs)!) : cpSmallXfs.skipped}` : smallXfs.skipped ?? smallHere.skipped ?? ''));

  return {
    section: {
      title: 'Create and mount a container on the image',
      note: 'Each run creates and mounts a new container; removal is not timed. buildah runs against a containers-storage of its own that already holds the image; containerd is the bench\'s private daemon (see section 1) holding the image unpacked in the snapshotter named, and its create is `ctr snapshots prepare` of an active snapshot on the image\'s ChainID, whose mount command it prints and the shell runs. Every run of every copy (layerfs\'s copy driver, cp -a, buildah vfs, containerd\'s native snapshotter) starts after a `sync` (untimed), as in section 1, so none pays for the writeback and deletes of the run before.',
      rows,
    },
    targets,
  };
}
