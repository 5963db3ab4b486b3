import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { createHash, randomBytes } from 'crypto';
import * as native from '../../lib/native';
import { chainId as computeChainId, sha256 } from '../../lib/digest';
import type { LayerCore } from '../../lib/layers';
import type { LayerRecord } from '../../lib/store/types';

/** Tests that mount need the addon and root; they skip with this said once. */
export const canMount = native.addonStatus().available && process.getuid?.() === 0;
export function mountSkipNote(what: string): void {
  if (canMount) return;
  const why = native.addonStatus().available ? 'they need root' : `the native addon is unavailable (${native.addonStatus().reason})`;
  console.warn(`${what}: mounting tests skipped: ${why}`);
}

export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `layerfs-${prefix}-`));
}

/** Unmounts everything under `dir` (deepest first) and deletes it: for afterAll, whatever the tests left. */
export function cleanup(dir: string | undefined): void {
  if (!dir || !fs.existsSync(dir)) return;
  if (native.available()) {
    for (let m = native.mountsUnder(dir)[0]; m; m = native.mountsUnder(dir)[0]) native.umount2Sync(m.mountPoint, native.constants.MNT_DETACH);
  }
  fs.rmSync(dir, { recursive: true, force: true });
}

/**
 * A layer made directly as a directory (no tarball): cheap enough to stack hundreds.
 * `populate` fills its diff/ directory; whiteouts, if any, must be in the store's format.
 */
export function makeLayer(store: LayerCore, parent: string | null, populate: (diff: string) => void): string {
  const staging = store.makeStaging('test-layer');
  const diff = path.join(staging, 'diff');
  fs.mkdirSync(diff, { mode: 0o755 });
  populate(diff);
  const diffId = sha256(randomBytes(16));
  const record: LayerRecord = {
    chainId: computeChainId(parent, diffId),
    diffId,
    parent,
    digest: diffId,
    mediaType: 'application/vnd.oci.image.layer.v1.tar',
    size: 0,
    compression: 'none',
    uncompressedSize: 0,
    entries: 0,
    whiteout: store.whiteout,
    created: new Date().toISOString(),
  };
  return store.publishLayer(staging, null, record).chainId;
}

/** A whiteout of `name` in layer directory `dir`, in the store's format (made by hand, as a tar import would). */
export function makeWhiteout(store: LayerCore, dir: string, name: string): void {
  if (store.whiteout === 'oci') fs.writeFileSync(path.join(dir, `.wh.${name}`), '');
  else native.mknodSync(path.join(dir, name), fs.constants.S_IFCHR, 0, 0);
}

/** Marks layer directory `dir` opaque (it hides everything below it), in the store's format. */
export function makeOpaque(store: LayerCore, dir: string): void {
  if (store.whiteout === 'oci') fs.writeFileSync(path.join(dir, '.wh..wh..opq'), '');
  else native.lsetxattrSync(dir, store.whiteout === 'overlay' ? 'trusted.overlay.opaque' : 'user.overlay.opaque', 'y');
}

/** A chain of `n` layers; layer i holds `f<i>`, the bottom one also `bottom.txt`. Returns the top ChainID. */
export function makeStack(store: LayerCore, n: number): string {
  let top: string | null = null;
  for (let i = 0; i < n; i++) {
    top = makeLayer(store, top, (d) => {
      fs.writeFileSync(path.join(d, `f${i}`), String(i));
      if (i === 0) fs.writeFileSync(path.join(d, 'bottom.txt'), 'from the bottom layer');
    });
  }
  return top!;
}

/**
 * A hash of everything in a directory tree: names, types, modes, owners, mtimes (ns), sizes,
 * contents, link targets, device numbers and xattrs (trusted.* too, as root). Equal hashes
 * mean an unchanged tree.
 */
export function hashTree(dir: string): string {
  const h = createHash('sha256');
  const walk = (rel: string) => {
    const p = path.join(dir, rel);
    const st = fs.lstatSync(p, { bigint: true });
    h.update(`${rel}\0${st.mode}\0${st.uid}:${st.gid}\0${st.mtimeNs}\0${st.size}\0${st.rdev}\0${st.nlink}\0`);
    if (native.available()) {
      for (const name of native.llistxattrSync(p).sort()) h.update(`${name}=`).update(native.lgetxattrSync(p, name) ?? Buffer.alloc(0));
    }
    if (st.isSymbolicLink()) h.update(fs.readlinkSync(p));
    else if (st.isFile()) h.update(fs.readFileSync(p));
    else if (st.isDirectory()) for (const n of fs.readdirSync(p).sort()) walk(path.join(rel, n));
  };
  walk('.');
  return h.digest('hex');
}

/** Whether anything is mounted on or below `dir`, per /proc/self/mountinfo. */
export function mountedUnder(dir: string): string[] {
  return native.mountsUnder(dir).map((m) => m.mountPoint);
}
