import * as path from 'path';
import { InvalidArgumentError } from '../errors';
import type { ImageConfig } from '../oci/image-config';
import { DEFAULT_CAPABILITIES, DEFAULT_NAMESPACES, DEFAULT_PATH, MASKED_PATHS, OCI_VERSION, READONLY_PATHS, defaultMounts } from './defaults';
import type { RuntimeMount, RuntimeSpec } from './types';
import { resolveUser } from './user';
import { inUserNamespace } from '../userns/identity';

export interface RuntimeSpecOptions {
  /** replaces the image's Cmd (CMD on the command line) */
  args?: string[];
  /** replaces the image's Entrypoint, and drops its Cmd as `docker run --entrypoint` does */
  entrypoint?: string[];
  /** `K=V` entries added after the image's Env, replacing any of the same name */
  env?: string[];
  /** replaces WorkingDir */
  workdir?: string;
  /** replaces User: `name`, `uid`, `name:group`, `uid:gid` */
  user?: string;
  /** the root filesystem is mounted read-only in the container */
  readOnly?: boolean;
  /** the process gets a terminal */
  tty?: boolean;
  hostname?: string;
  /** host files bind-mounted read-only over the container's own (`/etc/resolv.conf` -> a host path) */
  binds?: Record<string, string>;
  /** `root.path` as written in config.json (default: `rootfs` itself) */
  rootPath?: string;
  /**
   * Shape the config for a runtime in a user namespace, as `runc spec --rootless` does: no
   * network namespace (sysfs cannot be mounted for the host's), /sys bind-mounted read-only, no
   * uid=/gid= mount options, no cgroup resources. The process is already in the store's user
   * namespace, so no new one is asked for. Default: when this process is in a user namespace.
   */
  rootless?: boolean;
}

/**
 * The runtime-spec config of a container of an image, following image-spec conversion.md (umoci's
 * ToRuntimeSpec is the reference): the process from Entrypoint + Cmd, Env over the defaults, the
 * user resolved in the root filesystem's own passwd and group files (read confined to `rootfs`),
 * WorkingDir, annotations from the config and its Labels, Volumes as tmpfs mounts; then the
 * defaults of `runc spec` (namespaces, capabilities, kernel filesystems, masked paths).
 *
 * `rootfs` is the container's tree on the host, read for passwd and group only.
 */
export function runtimeSpec(image: ImageConfig | undefined, rootfs: string, opts: RuntimeSpecOptions = {}): RuntimeSpec {
  const c = image?.config ?? {};
  const entrypoint = opts.entrypoint ?? c.Entrypoint ?? [];
  const cmd = opts.args && opts.args.length ? opts.args : opts.entrypoint ? [] : c.Cmd ?? [];
  const args = [...entrypoint, ...cmd];
  if (args.length === 0) throw new InvalidArgumentError('no command to run: the image has no Entrypoint and no Cmd, and none was given');

  const user = resolveUser(rootfs, opts.user ?? c.User);
  const env = mergeEnv([`PATH=${DEFAULT_PATH}`, 'TERM=xterm'], c.Env ?? [], opts.env ?? []);
  if (!env.some((e) => e.startsWith('HOME='))) env.push(`HOME=${user.home ?? '/'}`);
  const cwd = opts.workdir ?? (c.WorkingDir || '/');
  if (!cwd.startsWith('/')) throw new InvalidArgumentError(`bad working directory ${JSON.stringify(cwd)}: it must be absolute`);

  const mounts: RuntimeMount[] = defaultMounts();
  for (const [dest, src] of Object.entries(opts.binds ?? {})) mounts.push({ destination: dest, type: 'bind', source: src, options: ['rbind', 'ro', 'nosuid', 'nodev', 'noexec'] });
  for (const v of Object.keys(c.Volumes ?? {}).sort()) {
    const dest = path.posix.normalize(v);
    if (!dest.startsWith('/')) throw new InvalidArgumentError(`bad volume ${JSON.stringify(v)} in the image config: it must be absolute`);
    mounts.push({ destination: dest, type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', 'mode=755'] });
  }

  const caps = [...DEFAULT_CAPABILITIES];
  const spec: RuntimeSpec = {
    ociVersion: OCI_VERSION,
    process: {
      terminal: !!opts.tty,
      user: { uid: user.uid, gid: user.gid, ...(user.additionalGids ? { additionalGids: user.additionalGids } : {}) },
      args,
      env,
      cwd,
      // ambient capabilities would let a non-root user keep them: none, as in Docker
      capabilities: { bounding: caps, effective: caps, permitted: caps, ambient: [] },
      rlimits: [{ type: 'RLIMIT_NOFILE', hard: 1024, soft: 1024 }],
      noNewPrivileges: true,
    },
    root: { path: opts.rootPath ?? rootfs, readonly: !!opts.readOnly },
    hostname: opts.hostname ?? 'layerfs',
    mounts,
    linux: {
      resources: { devices: [{ allow: false, access: 'rwm' }] },
      namespaces: DEFAULT_NAMESPACES.map((type) => ({ type })),
      maskedPaths: [...MASKED_PATHS],
      readonlyPaths: [...READONLY_PATHS],
    },
  };
  if (opts.rootless ?? inUserNamespace()) toRootless(spec);
  const annotations = annotationsOf(image);
  if (Object.keys(annotations).length) spec.annotations = annotations;
  return spec;
}

/** What `runc spec --rootless` changes (specconv.ToRootless), but the user namespace, which the caller is in already. */
function toRootless(spec: RuntimeSpec): void {
  spec.linux!.namespaces = spec.linux!.namespaces!.filter((n) => n.type !== 'network' && n.type !== 'user');
  delete spec.linux!.resources;
  spec.mounts = spec.mounts!.filter((m) => m.type !== 'cgroup').map((m) => {
    if (path.posix.normalize(m.destination) === '/sys') return { destination: '/sys', type: 'none', source: '/sys', options: ['rbind', 'nosuid', 'noexec', 'nodev', 'ro'] };
    return m.options ? { ...m, options: m.options.filter((o) => !/^(uid|gid)=/.test(o)) } : m;
  });
}

/** Environment lists merged in order: a later `K=V` replaces an earlier one of the same name, in place. */
function mergeEnv(...lists: string[][]): string[] {
  const out: string[] = [];
  const at = new Map<string, number>();
  for (const list of lists) {
    for (const e of list) {
      const i = e.indexOf('=');
      const name = i < 0 ? e : e.slice(0, i);
      if (name === '') throw new InvalidArgumentError(`bad environment entry ${JSON.stringify(e)}: expected NAME=VALUE`);
      const entry = i < 0 ? `${e}=` : e;
      const k = at.get(name);
      if (k === undefined) {
        at.set(name, out.length);
        out.push(entry);
      } else out[k] = entry;
    }
  }
  return out;
}

/** conversion.md's annotations: os, architecture, author, created, stop signal and exposed ports, then Labels over them. */
function annotationsOf(image: ImageConfig | undefined): Record<string, string> {
  if (!image) return {};
  const c = image.config ?? {};
  const a: Record<string, string> = {};
  const put = (k: string, v: unknown) => {
    if (typeof v === 'string' && v !== '') a[`org.opencontainers.image.${k}`] = v;
  };
  put('os', image.os);
  put('architecture', image.architecture);
  put('author', image.author);
  put('created', image.created);
  put('stopSignal', c.StopSignal);
  const ports = Object.keys(c.ExposedPorts ?? {}).sort();
  if (ports.length) a['org.opencontainers.image.exposedPorts'] = ports.join(',');
  for (const [k, v] of Object.entries(c.Labels ?? {})) if (typeof v === 'string') a[k] = v;
  return a;
}
