import * as path from 'path';
import * as native from '../native';
import type { LayerCore } from '../layers';
import { isStale } from '../store/tmp';
import { NotFoundError } from '../errors';
import { driverFor } from '../drivers';
import { isMountPoint, mountsUnder, unmountTarget } from '../drivers/mounts';
import { listContainersSync } from './registry';
import { ifContainerUnlocked } from './lock';

/**
 * Mounts a crashed process left in its tmp/ staging (an overlay probe, say) are unmounted before
 * that staging is reaped: the reaper deletes recursively and must never go through a mount.
 */
export async function unmountStaleStaging(store: LayerCore): Promise<void> {
  if (process.platform !== 'linux' || !native.available()) return;
  const tmp = store.paths.tmpDir;
  for (const m of mountsUnder(tmp)) {
    const entry = path.relative(tmp, m.mountPoint).split(path.sep)[0];
    if (entry && isStale(entry)) await unmountTarget(m.mountPoint).catch(() => undefined);
  }
}

/**
 * Brings the containers' recorded mount state in line with the kernel's: a container recorded
 * mounted whose mount vanished (a reboot, an unmount from outside) becomes unmounted, and one
 * mounted by a process that died before recording it becomes mounted. Mounts left behind by a
 * crash stay until the container is unmounted or removed. Containers another process is
 * working on (their lock is held) are left to it.
 */
export async function reconcileContainers(store: LayerCore): Promise<void> {
  if (process.platform !== 'linux') return;
  const mounts = native.readMountInfo();
  for (const c of listContainersSync(store)) {
    const mp = driverFor(c.driver).mountPoint(c);
    if (!mp) continue;
    const recorded = c.state === 'mounted';
    if (recorded === isMountPoint(mp, mounts)) continue;
    await ifContainerUnlocked(store.paths.container(c.id), c.id, async () => {
      c.refresh();
      const mounted = isMountPoint(mp);
      if ((c.state === 'mounted') === mounted) return;
      try {
        c.save(mounted ? 'mounted' : 'unmounted');
      } catch (e) {
        // a store opened by a user who cannot write it is reported as it is
        const code = (e as NodeJS.ErrnoException).code;
        if (code !== 'EACCES' && code !== 'EPERM' && code !== 'EROFS') throw e;
      }
    }).catch((e: unknown) => {
      // removed meanwhile
      if (!(e instanceof NotFoundError)) throw e;
    });
  }
}
