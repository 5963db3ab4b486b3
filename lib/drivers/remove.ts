import type { ContainerRef } from './types';
import { assertNothingMounted, unmountAllUnder, UnmountOptions } from './mounts';

/**
 * Deletes a container's directory: everything mounted under it is unmounted first (lazily only
 * as the last resort), mountinfo is checked again so a recursive delete never goes through a
 * mount, then the directory is renamed aside into tmp/ and deleted.
 */
export async function removeContainerDir(c: ContainerRef, opts: UnmountOptions = {}): Promise<void> {
  const dir = c.store.paths.container(c.record.id);
  await unmountAllUnder(dir, opts);
  assertNothingMounted(dir, `container ${c.record.id}`);
  await c.store.discard(dir);
}
