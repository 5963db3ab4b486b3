import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as native from '../../native';
import type { StoreCore } from '../../store/store-core';
import { mountOverlay, MountApi } from './mount';
import { mountsUnder, overlayMismatch, unmountAllUnder } from '../mounts';

/** What the kernel lets this store's overlays do, probed once and kept in store.json. */
export interface OverlayProbe {
  /** the kernel and user it was probed with: a new kernel or another user probes again */
  kernel: string;
  uid: number;
  mountable: boolean;
  /** why not, when not mountable */
  reason?: string;
  api?: MountApi;
  /**
   * The options that keep the upperdir a valid diff which this kernel accepts: index=off (no
   * hardlink index tied to this upperdir), redirect_dir=off (a renamed directory is copied up,
   * not recorded as a redirect xattr), metacopy=off (copy-up copies data, not just metadata).
   * An option the kernel does not know is a feature it does not have.
   */
  options: string[];
}

export const OVERLAY_PROBE_KEY = 'overlay';
const WANTED = ['index=off', 'redirect_dir=off', 'metacopy=off'];

const memo = new WeakMap<StoreCore, Promise<OverlayProbe>>();

/** Why overlay cannot be used for this store before any mount is tried, or null. */
export function overlayBlocker(store: StoreCore): string | null {
  const addon = native.addonStatus();
  if (!addon.available) return `mounting needs the native addon (${addon.reason})`;
  if (store.whiteout === 'oci') return "the store keeps whiteouts in the 'oci' format (.wh. files), which overlayfs does not read";
  return null;
}

/**
 * Whether this process can mount overlays for `store`, found by mounting a tiny overlay in the
 * store's tmp/ (the only test that covers privileges, security modules and the filesystem
 * under the store), and which of the wanted options the kernel takes. Cached per store.
 */
export function probeOverlay(store: StoreCore, opts: { fresh?: boolean } = {}): Promise<OverlayProbe> {
  let p = opts.fresh ? undefined : memo.get(store);
  if (!p) {
    p = probe(store, !!opts.fresh);
    memo.set(store, p);
    p.catch(() => memo.delete(store));
  }
  return p;
}

async function probe(store: StoreCore, fresh: boolean): Promise<OverlayProbe> {
  const base = { kernel: os.release(), uid: process.geteuid?.() ?? -1 };
  const cached = store.config.probes?.[OVERLAY_PROBE_KEY] as OverlayProbe | undefined;
  if (!fresh && cached && cached.kernel === base.kernel && cached.uid === base.uid) return cached;
  const blocker = overlayBlocker(store);
  if (blocker) return { ...base, mountable: false, reason: blocker, options: [] };

  const api: MountApi = native.hasNewMountApi() ? 'fsmount' : 'mount';
  const dir = store.makeStaging('overlay-probe');
  const d = (n: string) => path.join(dir, n);
  const userxattr: Array<[string, null]> = store.whiteout === 'overlay-userxattr' ? [['userxattr', null]] : [];
  try {
    for (const n of ['l1', 'l2', 'merged']) fs.mkdirSync(d(n));
    fs.writeFileSync(path.join(d('l2'), 'probe'), 'layerfs');
    const attempt = async (options: string[]): Promise<string | null> => {
      for (const n of ['upper', 'work']) {
        fs.rmSync(d(n), { recursive: true, force: true });
        fs.mkdirSync(d(n));
      }
      const split = options.map((o): [string, string] => o.split('=') as [string, string]);
      try {
        const upper = await mountOverlay(d('merged'), { lowers: [d('l1'), d('l2')], upper: d('upper'), work: d('work'), options: [...userxattr, ...split] }, api, () => fs.mkdtempSync(d('links-')));
        const wrong = overlayMismatch(d('merged'), { upper, lowers: 2, off: split.map(([k]) => k) });
        if (wrong) return wrong;
        if (fs.readFileSync(path.join(d('merged'), 'probe'), 'utf8') !== 'layerfs') return 'the probe overlay did not show its lower file';
        fs.writeFileSync(path.join(d('merged'), 'written'), 'x');
        return fs.existsSync(path.join(d('upper'), 'written')) ? null : 'a write did not reach the upperdir';
      } catch (e) {
        return (e as Error).message;
      } finally {
        await unmountAllUnder(dir);
      }
    };
    const failed = await attempt([]);
    if (failed) return save(store, { ...base, mountable: false, reason: `overlayfs cannot be mounted here: ${failed}`, options: [] });
    const options: string[] = [];
    for (const o of WANTED) if ((await attempt([...options, o])) === null) options.push(o);
    return save(store, { ...base, mountable: true, api, options });
  } finally {
    await unmountAllUnder(dir).catch(() => undefined);
    // never delete through a mount: a leftover stays for the next open's reconcile
    if (!mountsUnder(dir).length) await store.discard(dir);
  }
}

function save(store: StoreCore, p: OverlayProbe): OverlayProbe {
  try {
    store.saveProbe(OVERLAY_PROBE_KEY, p);
  } catch {
    // a store this user cannot write still gets the answer, just not cached
  }
  return p;
}
