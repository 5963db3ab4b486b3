import * as path from 'path';
import * as native from '../native';
import type { LayerCore } from '../layers';
import { isStale } from '../store/tmp';
import { NotFoundError } from '../errors';
import { driverFor } from '../drivers';
import { isMountPoint, mountsUnder, unmountTarget } from '../drivers/mounts';
import type { MountInfo } from '../native/mountinfo';
import type { Container } from './container';
import { ifContainerUnlockedSync } from './lock';

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
 * Brings a container's recorded mount state in line with the kernel's: recorded mounted but its
 * mount vanished (a reboot, an unmount from outside) becomes unmounted, and mounted by a process
 * that died before recording it becomes mounted. Mounts left behind by a crash stay until the
 * container is unmounted or removed. A container another process is working on (its lock is
 * held) is left to it. Done as each container is read, so opening a store costs the same
 * whatever the number of containers; `mounts` is mountinfo read once for many containers.
 */
export function reconcileMountState(c: Container, mounts?: () => MountInfo[]): void {
  if (process.platform !== 'linux') return;
  const mp = driverFor(c.driver).mountPoint(c);
  if (!mp) return;
  const recorded = c.state === 'mounted';
  if (recorded === isMountPoint(mp, mounts?.())) return;
  ifContainerUnlockedSync(c.store.paths.container(c.id), c.id, () => {
    try {
      c.refresh();
    } catch (e) {
      if (e instanceof NotFoundError) return; // removed meanwhile
      throw e;
    }
    const mounted = isMountPoint(mp);
    if ((c.state === 'mounted') === mounted) return;
    try {
      c.save(mounted ? 'mounted' : 'unmounted');
    } catch (e) {
      // a store opened by a user who cannot write it is reported as it is
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'EACCES' && code !== 'EPERM' && code !== 'EROFS') throw e;
    }
  });
}
