import * as path from 'path';
import type { StorePaths } from '../store/paths';

/** The paths inside one container directory. */
export interface ContainerLayout {
  dir: string;
  record: string;
  upper: string;
  work: string;
  merged: string;
  root: string;
  manifest: string;
}

/**
 * The container's paths as StorePaths names them, rebased on `base` (its staging directory while
 * it is being created): StorePaths stays the one module that knows the layout.
 */
export function containerLayout(paths: StorePaths, id: string, base: string = paths.container(id)): ContainerLayout {
  const home = paths.container(id);
  const at = (p: string) => path.join(base, path.relative(home, p));
  return {
    dir: base,
    record: at(paths.containerRecord(id)),
    upper: at(paths.containerUpper(id)),
    work: at(paths.containerWork(id)),
    merged: at(paths.containerMerged(id)),
    root: at(paths.containerRoot(id)),
    manifest: at(paths.containerSnapshot(id)),
  };
}
