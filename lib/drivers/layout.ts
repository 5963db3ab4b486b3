import * as path from 'path';
import { CONTAINER_ENTRIES } from '../store/paths';
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
 * The last layout made for a container's own directory, and the last for a staging directory: a
 * command asks for one container's many times (a create for its staging one, then its own).
 */
let own: { paths: StorePaths; id: string; layout: Readonly<ContainerLayout> } | undefined;
let staged: { paths: StorePaths; id: string; layout: Readonly<ContainerLayout> } | undefined;

/**
 * The container's paths as StorePaths names them (CONTAINER_ENTRIES), rebased on `base` (its
 * staging directory while it is being created): StorePaths stays the one module that knows the
 * layout. One join each, and the last layouts are kept: the drivers ask for one several times a
 * command, and the joins that made each path from StorePaths' full one, every time, made
 * path.join hot enough in a short command for V8 to spend milliseconds optimising it.
 */
export function containerLayout(paths: StorePaths, id: string, base?: string): Readonly<ContainerLayout> {
  const kept = base === undefined ? own : staged;
  if (kept?.paths === paths && kept.id === id && (base === undefined || kept.layout.dir === base)) return kept.layout;
  const dir = base ?? paths.container(id);
  const at = (name: string) => path.join(dir, name);
  const layout = Object.freeze({
    dir,
    record: at(CONTAINER_ENTRIES.record),
    upper: at(CONTAINER_ENTRIES.upper),
    work: at(CONTAINER_ENTRIES.work),
    merged: at(CONTAINER_ENTRIES.merged),
    root: at(CONTAINER_ENTRIES.root),
    manifest: at(CONTAINER_ENTRIES.manifest),
  });
  if (base === undefined) own = { paths, id, layout };
  else staged = { paths, id, layout };
  return layout;
}
