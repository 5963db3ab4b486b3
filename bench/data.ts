import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { execFileSync, spawnSync } from 'child_process';

/** The bench data, built once and cached outside the repository. */
export interface BenchData {
  cache: string;
  /** a base root filesystem (Debian minbase, or a synthetic tree) */
  rootfs: string;
  rootfsKind: string;
  /** the multi-layer OCI image made with umoci, and the same exported by skopeo */
  layout: string;
  tag: string;
  ociArchive: string;
  /** the uncompressed layer tarballs, bottom first (for the tar -x floor) */
  plainLayers: string[];
  bigFileBytes: number;
}

const sh = (cmd: string) => execFileSync('bash', ['-c', cmd], { stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 256 << 20 }).toString();

function synthetic(dir: string, files: number): void {
  for (let i = 0; i < files; i++) {
    const p = path.join(dir, 'usr', `lib${i % 40}`, `pkg${i % 400}`, `file${i}`);
    fs.mkdirSync(path.dirname(p), { recursive: true });
    fs.writeFileSync(p, `synthetic content ${i}\n`.repeat(1 + (i % 200)));
  }
  fs.mkdirSync(path.join(dir, 'etc'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'etc/os-release'), 'NAME=synthetic\n');
}

export function buildData(quick: boolean): BenchData {
  const cache = process.env.LAYERFS_BENCH_CACHE ?? path.join(os.homedir(), '.cache', 'layerfs-bench', quick ? 'quick' : 'full');
  const marker = path.join(cache, 'data.json');
  if (fs.existsSync(marker)) return JSON.parse(fs.readFileSync(marker, 'utf8')) as BenchData;
  fs.rmSync(cache, { recursive: true, force: true });
  fs.mkdirSync(cache, { recursive: true });
  const rootfs = path.join(cache, 'rootfs');
  let rootfsKind = 'synthetic';
  if (!quick && spawnSync('debootstrap', ['--version']).status === 0) {
    const r = spawnSync('debootstrap', ['--variant=minbase', 'bookworm', rootfs], { stdio: 'ignore', timeout: 900000 });
    if (r.status === 0) rootfsKind = 'debian bookworm minbase (debootstrap)';
  }
  if (rootfsKind === 'synthetic') {
    fs.rmSync(rootfs, { recursive: true, force: true });
    fs.mkdirSync(rootfs);
    synthetic(rootfs, quick ? 8000 : 30000);
    rootfsKind = `synthetic tree of ${quick ? 8000 : 30000} files`;
  }
  const layout = path.join(cache, 'layout');
  const bundle = path.join(cache, 'bundle');
  const tag = 'bench';
  sh(`umoci init --layout ${layout} && umoci new --image ${layout}:empty`);
  sh(`umoci unpack --image ${layout}:empty ${bundle} && cp -a ${rootfs}/. ${bundle}/rootfs/ && umoci repack --image ${layout}:l1 ${bundle}`);
  // layer 2: adds, changes, deletes, hardlinks
  const next = (from: string, to: string, change: string) => {
    sh(`rm -rf ${bundle} && umoci unpack --image ${layout}:${from} ${bundle}`);
    sh(`cd ${bundle}/rootfs && ${change}`);
    sh(`umoci repack --image ${layout}:${to} ${bundle}`);
  };
  next('l1', 'l2', 'mkdir -p opt/app && for i in $(seq 1 500); do echo $i > opt/app/f$i; done && ln opt/app/f1 opt/app/hard && echo changed >> etc/os-release && rm -rf usr/lib1');
  const many = quick ? 5000 : 20000;
  next('l2', 'l3', `mkdir -p srv/many && cd srv/many && for d in $(seq 0 99); do mkdir d$d; done && seq 0 ${many - 1} | while read i; do echo "file $i" > d$((i % 100))/f$i; done`);
  const bigFileBytes = quick ? 128 << 20 : 1 << 30;
  next('l3', 'l4', `head -c ${bigFileBytes} /dev/urandom > big.bin`);
  const ins = path.join(cache, 'opaque-src');
  fs.mkdirSync(path.join(ins, 'lib2'), { recursive: true });
  fs.writeFileSync(path.join(ins, 'lib2', 'replaced'), 'opaque\n');
  sh(`umoci insert --image ${layout}:l4 --tag ${tag} --opaque ${ins}/lib2 /usr/lib2`);
  const ociArchive = path.join(cache, 'image.oci.tar');
  sh(`skopeo --insecure-policy copy oci:${layout}:${tag} oci-archive:${ociArchive}`);
  const manifest = JSON.parse(sh(`skopeo --insecure-policy inspect --raw oci:${layout}:${tag}`));
  const plainLayers = (manifest.layers as Array<{ digest: string }>).map((l, i) => {
    const out = path.join(cache, `layer${i}.tar`);
    sh(`gzip -dc ${layout}/blobs/sha256/${l.digest.slice(7)} > ${out}`);
    return out;
  });
  fs.rmSync(bundle, { recursive: true, force: true });
  const data: BenchData = { cache, rootfs, rootfsKind, layout, tag, ociArchive, plainLayers, bigFileBytes };
  fs.writeFileSync(marker, JSON.stringify(data, null, 2));
  return data;
}
