import * as fs from 'fs';
import * as path from 'path';
import { randomHex } from '../digest/random';
import { deleteRuntimeContainer, executeBundle, locateRuntime, writeBundle } from '../runtime';
import type { BundleOptions, ExecuteOptions, RunResult, RuntimeSpec } from '../runtime';
import type { ImageConfig } from '../oci/image-config';
import type { LayerCore } from '../layers';
import type { ContainerRecord } from './types';
import { makeMountpoints } from './runtime-entries';
import { inUserNamespace } from '../userns/identity';

/** What running needs of a container (Container is one; named here so that run.ts does not import container.ts, which loads it). */
export interface RunnableContainer {
  readonly id: string;
  readonly store: LayerCore;
  readonly record: ContainerRecord;
  readonly readOnly: boolean;
  isMounted(): boolean;
  mount(): Promise<string>;
  unmount(): Promise<void>;
  update(change: (r: ContainerRecord) => ContainerRecord): Promise<void>;
}

export interface RunOptions extends Omit<BundleOptions, 'args'>, Pick<ExecuteOptions, 'stdin' | 'stdout' | 'stderr' | 'signal' | 'onStarted'> {
  /** `runc` (default), `crun`, or the path of an OCI runtime */
  runtime?: string;
  /** the image config to start the process from (default: the one of the image the container was made from) */
  image?: ImageConfig;
  /** keep the container mounted afterwards (default: unmounted again, unless it was mounted before) */
  keepMounted?: boolean;
}

/**
 * Runs a process in the container with an OCI runtime, in the foreground: mounts it, makes the
 * mount targets the runtime needs (recorded, so they are no change), writes the bundle in the
 * container's directory, runs `RUNTIME run`, and unmounts afterwards. `args` replaces the image's
 * Cmd. The runtime is found first, so a missing one changes nothing.
 */
export async function runInContainer(c: RunnableContainer, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  const runtime = locateRuntime(opts.runtime);
  const wasMounted = c.isMounted();
  const id = `layerfs-${c.id.slice(0, 12)}-${randomHex(4)}`;
  try {
    const bundle = path.join(c.store.paths.container(c.id), 'bundle');
    // in a user namespace the runtime's default state directory (/run/runc) is the host root's
    const stateRoot = inUserNamespace() ? c.store.paths.runtimeStateDir : undefined;
    if (stateRoot) fs.mkdirSync(stateRoot, { recursive: true, mode: 0o700 });
    await prepareBundle(c, bundle, { ...opts, args }, { path: runtime, id, ...(stateRoot ? { stateRoot } : {}) });
    let ended = false;
    try {
      const result = await executeBundle({ runtime, bundle, id, stateRoot, tty: opts.tty, stdin: opts.stdin, stdout: opts.stdout, stderr: opts.stderr, signal: opts.signal, onStarted: opts.onStarted });
      ended = true;
      return result;
    } finally {
      // `run` deletes its own container when the process ends; what failed on the way may have left one
      if (!ended) deleteRuntimeContainer(runtime, id, stateRoot);
      await c.update((r) => {
        const { runtime: _gone, ...rest } = r;
        return rest;
      });
    }
  } finally {
    if (!wasMounted && !opts.keepMounted) await c.unmount();
  }
}

/**
 * Mounts the container and writes a runtime bundle for it in `dir` (see writeBundle), after making
 * the mount targets the runtime needs; they are recorded with the container, so that diff and
 * commit leave them out. `runtime`: recorded too, while a process runs.
 */
export async function prepareBundle(c: RunnableContainer, dir: string, opts: BundleOptions & { image?: ImageConfig }, runtime?: { path: string; id: string; stateRoot?: string }): Promise<RuntimeSpec> {
  const root = await c.mount();
  const spec = writeBundle(dir, root, opts.image ?? c.record.image?.config, opts);
  const targets = spec.mounts.map((m) => ({ destination: m.destination, file: m.type === 'bind' }));
  targets.push({ destination: spec.process.cwd, file: false });
  const made = c.readOnly ? [] : makeMountpoints(root, targets);
  await c.update((r) => ({ ...r, runtimeEntries: union(r.runtimeEntries, made), ...(runtime ? { runtime } : {}) }));
  return spec;
}

function union(a: string[] | undefined, b: string[]): string[] {
  return [...new Set([...(a ?? []), ...b])].sort();
}
