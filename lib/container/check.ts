import { readMountInfo } from '../native/mountinfo';
import type { LayerCore } from '../layers';
import type { FsckProblem, StoreContributor } from '../store/check';
import { driverFor } from '../drivers';
import { isMountPoint } from '../drivers/mounts';
import { listContainersSync } from './registry';

/**
 * What containers add to fsck, gc and removeLayer: each container holds its chain, and one whose
 * driver mounts it must be mounted exactly when its record says so.
 */
export function containerContributor(store: LayerCore): StoreContributor {
  const all = () => listContainersSync(store);
  return {
    users: () => all().map((c) => ({ kind: 'container' as const, id: c.id, chain: c.chain })),
    check(problems: FsckProblem[]) {
      const mounts = readMountInfo();
      for (const c of all()) {
        const mp = driverFor(c.driver).mountPoint(c);
        if (!mp) continue;
        const mounted = isMountPoint(mp, mounts);
        if (c.state === 'mounted' && !mounted) problems.push({ kind: 'mount', id: c.id, message: `recorded as mounted, but ${mp} is not in /proc/self/mountinfo` });
        if (c.state !== 'mounted' && mounted) problems.push({ kind: 'mount', id: c.id, message: `${mp} is mounted, but the container is recorded as ${c.state}` });
      }
    },
  };
}
