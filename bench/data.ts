/**
 * The bench data, built once and cached outside the repository ($LAYERFS_BENCH_CACHE, else
 * ~/.cache/layerfs-bench): a base root filesystem (Debian minbase from debootstrap, else a
 * synthetic tree), a multi-layer OCI image made from it with umoci, the same image exported by
 * skopeo as an oci-archive, and its layers uncompressed (for the tar -x floor).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { spawnSync } from 'child_process';
import { fresh, removeTree, sh } from './common';

/** Raise when the recipe below changes: cached data of another version is rebuilt. */
const DATA_VERSION = 3;

export interface BenchData {
  version: number;
  /** the cache root, and this data set's directory in it */
  cacheRoot: string;
  dir: string;
  rootfs: string;
  rootfsKind: string;
  /** the OCI layout made with umoci, and its tag */
  layout: string;
  tag: string;
  /** the same image exported by skopeo */
  ociArchive: string;
  /** the layer blobs (gzip, as umoci wrote them) and the same uncompressed, bottom first */
  layerBlobs: string[];
  plainLayers: string[];
  /** zero bytes GNU tar needs after each decompressed layer (umoci insert's layer ends early) */
  tarPadding: number[];
  /** index of the layer holding the one big file, and its size */
  bigLayer: number;
  bigFileBytes: number;
  /** files of the small-file layer */
  smallFiles: number;
  /** entries of the flattened image root */
  rootEntries: number;
  /** what each layer does, for the report */
  layerNotes: string[];
}

export function cacheRoot(): string {
  return path.resolve(process.env.LAYERFS_BENCH_CACHE ?? path.join(os.homedir(), '.cache', 'layerfs-bench'));
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** Keeps the cache bounded: scratch and staging left by runs that died are removed. */
export function pruneCache(root: string): void {
  if (!fs.existsSync(root)) return;
  for (const n of fs.readdirSync(root)) {
    const m = /^(?:work-(\d+)(?:\.ext4|\.xfs)?|.*\.(\d+)\.tmp)$/.exec(n);
    const pid = m && Number(m[1] ?? m[2]);
    if (pid && !alive(pid)) {
      console.log(`  removing ${n} left in the bench cache by a run that ended`);
      removeTree(path.join(root, n));
    }
  }
}

function debianMirror(): string {
  try {
    const m = /^URIs:\s*(\S+\/debian)\s*$/m.exec(fs.readFileSync('/etc/apt/sources.list.d/debian.sources', 'utf8'));
    if (m) return m[1];
  } catch {
    /* no deb822 sources: the default mirror */
  }
  return 'http://deb.debian.org/debian';
}

/** Debian bookworm minbase, made once by debootstrap and shared by the quick and full data. */
function debianRoot(root: string): string | null {
  const dest = path.join(root, 'debian-minbase');
  if (fs.existsSync(path.join(dest, 'etc/debian_version'))) return dest;
  if (process.getuid?.() !== 0 || spawnSync('bash', ['-c', 'command -v debootstrap'], { stdio: 'ignore' }).status !== 0) return null;
  const tmp = path.join(root, `debian-minbase.${process.pid}.tmp`);
  console.log('  debootstrap --variant=minbase bookworm (once; about a minute)…');
  const r = spawnSync('debootstrap', ['--variant=minbase', 'bookworm', tmp, debianMirror()], { stdio: 'ignore', timeout: 20 * 60000 });
  if (r.status !== 0 || !fs.existsSync(path.join(tmp, 'etc/debian_version'))) {
    console.log(`  debootstrap failed (status ${r.status}); using a synthetic tree instead`);
    removeTree(tmp);
    return null;
  }
  fs.renameSync(tmp, dest);
  return dest;
}

/**
 * A synthetic root of `files` files of varied sizes in a deep-ish tree, with symlinks,
 * hardlinks, a setuid file and the paths the scripted changes touch.
 */
function syntheticRoot(root: string, files: number): string {
  const dest = path.join(root, `synthetic-${files}`);
  if (fs.existsSync(path.join(dest, 'etc/os-release'))) return dest;
  const tmp = path.join(root, `synthetic-${files}.${process.pid}.tmp`);
  fresh(tmp);
  for (const d of ['etc', 'bin', 'usr/bin', 'usr/share/doc', 'var/lib', 'tmp']) fs.mkdirSync(path.join(tmp, d), { recursive: true });
  fs.writeFileSync(path.join(tmp, 'etc/os-release'), 'NAME=synthetic\nID=synthetic\n');
  const body = Buffer.alloc(256 << 10, 'synthetic root filesystem content\n');
  const made = new Set<string>();
  for (let i = 0; i < files; i++) {
    const dir = i % 10 === 0 ? `usr/share/doc/pkg${i % 300}` : `usr/lib/m${i % 40}/pkg${i % 700}`;
    const p = path.join(tmp, dir, `file${i}`);
    // every (m, pkg) pair the formula gives is made once (not only those of the first 1,000 files)
    if (!made.has(dir)) {
      fs.mkdirSync(path.dirname(p), { recursive: true });
      made.add(dir);
    }
    // mostly small files, a few of tens to hundreds of KiB, as in a real root
    const size = i % 97 === 0 ? 64 << 10 : i % 997 === 0 ? 256 << 10 : 200 + ((i * 131) % 6000);
    fs.writeFileSync(p, body.subarray(0, size));
    if (i % 500 === 0) fs.symlinkSync(`file${i}`, `${p}.link`);
    if (i % 700 === 0) fs.linkSync(p, `${p}.hard`);
  }
  fs.writeFileSync(path.join(tmp, 'usr/bin/su'), '#!/bin/sh\n');
  fs.chmodSync(path.join(tmp, 'usr/bin/su'), 0o4755);
  fs.renameSync(tmp, dest);
  return dest;
}

/**
 * umoci insert writes a tarball that ends right after its last file's bytes; GNU tar refuses
 * it, so the uncompressed copy made for the tar -x floor gets the padding and end-of-archive
 * blocks it lacks (the same entries; only that copy's sha256 differs from the DiffID).
 * Returns how many zero bytes were added.
 */
function terminateTar(file: string): number {
  const size = fs.statSync(file).size;
  const fd = fs.openSync(file, 'r+');
  try {
    const tail = Buffer.alloc(Math.min(1024, size));
    fs.readSync(fd, tail, 0, tail.length, size - tail.length);
    if (size % 512 === 0 && tail.length === 1024 && tail.every((b) => b === 0)) return 0;
    const pad = ((512 - (size % 512)) % 512) + 1024;
    fs.writeSync(fd, Buffer.alloc(pad), 0, pad, size);
    return pad;
  } finally {
    fs.closeSync(fd);
  }
}

function countEntries(dir: string): number {
  return Number(sh(`find ${dir} | wc -l`).trim());
}

/** Builds (or finds in the cache) the data set for a quick or a full run. */
export function buildData(quick: boolean): BenchData {
  const root = cacheRoot();
  fs.mkdirSync(root, { recursive: true });
  pruneCache(root);
  const dir = path.join(root, quick ? 'quick' : 'full');
  const marker = path.join(dir, 'data.json');
  try {
    const d = JSON.parse(fs.readFileSync(marker, 'utf8')) as BenchData;
    if (d.version === DATA_VERSION && fs.existsSync(d.ociArchive) && d.plainLayers.every((p) => fs.existsSync(p))) return d;
  } catch {
    /* not built yet */
  }
  const free = fs.statfsSync(root);
  const need = quick ? 2 : 8;
  if (free.bavail * free.bsize < need * 2 ** 30) throw new Error(`the bench data needs about ${need} GiB free under ${root}; ${((free.bavail * free.bsize) / 2 ** 30).toFixed(1)} GiB are`);
  console.log(`  building the ${quick ? 'quick' : 'full'} data set in ${dir} (a few minutes, once)`);
  fresh(dir);
  for (const t of ['umoci', 'skopeo']) if (spawnSync('bash', ['-c', `command -v ${t}`], { stdio: 'ignore' }).status !== 0) throw new Error(`building the bench image needs ${t}`);

  let rootfs = debianRoot(root);
  let rootfsKind = 'Debian bookworm minbase (debootstrap)';
  if (!rootfs) {
    const n = quick ? 8000 : 30000;
    rootfs = syntheticRoot(root, n);
    rootfsKind = `synthetic tree of ${n} files (debootstrap unavailable)`;
  }

  const layout = path.join(dir, 'layout');
  const bundle = path.join(dir, 'bundle');
  const tag = 'bench';
  const smallFiles = quick ? 5000 : 20000;
  const bigFileBytes = quick ? 128 << 20 : 1 << 30;
  const layerNotes: string[] = [];
  sh(`umoci init --layout ${layout} && umoci new --image ${layout}:empty`);
  /** One umoci layer: unpack `from`, run `change` in the bundle's rootfs, repack as `to`. */
  const step = (from: string, to: string, note: string, change: string) => {
    removeTree(bundle);
    sh(`umoci unpack --image ${layout}:${from} ${bundle}`);
    sh(`cd ${bundle}/rootfs && ${change}`);
    sh(`umoci repack --image ${layout}:${to} ${bundle}`);
    layerNotes.push(note);
  };
  step('empty', 'l1', `the base root: ${rootfsKind}`, `cp -a ${rootfs}/. .`);
  step(
    'l1',
    'l2',
    'adds (opt/app: 500 files), changes (etc/os-release appended, a mode change), deletes (usr/share/doc), hardlinks (inside the layer and to a lower file), a directory made opaque later',
    [
      'mkdir -p opt/app var/lib/bench-opaque',
      'for i in $(seq 1 500); do echo "app file $i" > opt/app/f$i; done',
      'ln opt/app/f1 opt/app/f1.hard && ln etc/os-release etc/os-release.hard',
      'for i in $(seq 1 50); do echo "to be hidden $i" > var/lib/bench-opaque/h$i; done',
      'echo "BENCH=1" >> etc/os-release && chmod 0600 etc/os-release',
      'rm -rf usr/share/doc',
    ].join(' && '),
  );
  step('l2', 'l3', `${smallFiles} small files in srv/many (100 directories)`, `mkdir -p srv/many && cd srv/many && for d in $(seq 0 99); do mkdir d$d; done && seq 0 ${smallFiles - 1} | awk '{ f = "d" ($1 % 100) "/f" $1; print "small file " $1 > f; close(f) }'`);
  step('l3', 'l4', `one ${bigFileBytes >> 20} MiB file of random bytes (big.bin)`, `head -c ${bigFileBytes} /dev/urandom > big.bin`);
  const opaque = path.join(dir, 'opaque-src');
  fresh(opaque);
  for (let i = 0; i < 3; i++) fs.writeFileSync(path.join(opaque, `new${i}`), `replaces the directory ${i}\n`);
  sh(`umoci insert --image ${layout}:l4 --tag ${tag} --opaque ${opaque} /var/lib/bench-opaque`);
  layerNotes.push('an opaque directory (umoci insert --opaque over var/lib/bench-opaque)');
  removeTree(opaque);
  removeTree(bundle);

  const ociArchive = path.join(dir, 'image.oci.tar');
  sh(`skopeo --insecure-policy copy -q oci:${layout}:${tag} oci-archive:${ociArchive}`);
  const manifest = JSON.parse(sh(`skopeo --insecure-policy inspect --raw oci:${layout}:${tag}`)) as { layers: Array<{ digest: string }> };
  const layerBlobs = manifest.layers.map((l) => path.join(layout, 'blobs/sha256', l.digest.slice('sha256:'.length)));
  const tarPadding: number[] = [];
  const plainLayers = layerBlobs.map((blob, i) => {
    const out = path.join(dir, `layer${i}.tar`);
    sh(`gzip -dc ${blob} > ${out}`);
    tarPadding.push(terminateTar(out));
    return out;
  });
  const flat = path.join(dir, 'flat');
  sh(`umoci raw unpack --image ${layout}:${tag} ${flat}`);
  const rootEntries = countEntries(flat);
  removeTree(flat);

  const data: BenchData = { version: DATA_VERSION, cacheRoot: root, dir, rootfs, rootfsKind, layout, tag, ociArchive, layerBlobs, plainLayers, tarPadding, bigLayer: 3, bigFileBytes, smallFiles, rootEntries, layerNotes };
  fs.writeFileSync(marker, JSON.stringify(data, null, 2));
  return data;
}
