import * as fs from 'fs';
import * as path from 'path';
import * as native from '../../native';
import { workerScript } from '../../workers';
import { deserializeError, UnsupportedError } from '../../errors';
import { lazy } from '../../lazy';

const childProcessModule = lazy<typeof import('child_process')>(() => require('child_process'));

export type MountApi = 'fsmount' | 'mount';

export interface OverlayRequest {
  /** lower directories, top first (the order overlayfs takes them) */
  lowers: string[];
  /** absent for a read-only overlay of lowers only */
  upper?: string;
  work?: string;
  /** extra options: `['index', 'off']`, `['userxattr', null]` */
  options: Array<[string, string | null]>;
  /** mount it read-only (an overlay without upper is read-only inside; this makes the mount say so too) */
  readOnly?: boolean;
}

/** What mountinfo shows as the source of layerfs's overlays. */
export const OVERLAY_SOURCE = 'layerfs';

/** mount(2) copies at most one page of options, the terminating NUL included. */
const PAGE = 4096;

/** Characters the legacy option string cannot carry as they are (separators and escapes). */
const SPECIAL = /[,:\\=\s]/;

/**
 * Mounts an overlay on `target`. Through fsopen/fsconfig each lower is its own `lowerdir+`
 * parameter, so there is no length limit but the kernel's layer count. Without that API
 * (kernels before 6.8) it falls back to mount(2), which takes one page of options: long stacks
 * are mounted by a short-lived child process whose working directory is a directory of
 * short symlinks, so the options hold names like `0:1:2` instead of full paths. The caller
 * verifies the result against mountinfo either way.
 *
 * `scratch` makes a fresh directory for the symlinks; it is deleted before this returns.
 * Returns the upperdir string the kernel was given (what mountinfo will show).
 */
export async function mountOverlay(target: string, req: OverlayRequest, api: MountApi, scratch: () => string): Promise<string | null> {
  if (api === 'fsmount') {
    const params: native.FsParam[] = req.lowers.map((l): native.FsParam => ['lowerdir+', l]);
    if (req.upper) params.push(['upperdir', req.upper], ['workdir', req.work!]);
    params.push(...req.options);
    // on this thread: an overlay's mount is a few hundred microseconds of kernel time, and the async
    // form would start libuv's pool of four threads for it (and join them at exit) in a short command
    native.fsmountSync('overlay', target, params, { source: OVERLAY_SOURCE, mountAttrs: req.readOnly ? native.constants.MOUNT_ATTR_RDONLY : 0 });
    return req.upper ?? null;
  }
  const plain = legacyData(req.lowers, req.upper, req.work, req.options);
  if (plain && plain.length < PAGE && ![...req.lowers, req.upper ?? '', req.work ?? ''].some((p) => SPECIAL.test(p))) {
    await native.mount(OVERLAY_SOURCE, target, 'overlay', req.readOnly ? native.constants.MS_RDONLY : 0, plain);
    return req.upper ?? null;
  }
  return mountThroughLinks(target, req, scratch());
}

function legacyData(lowers: string[], upper: string | undefined, work: string | undefined, options: Array<[string, string | null]>): string {
  const parts = [`lowerdir=${lowers.join(':')}`];
  if (upper) parts.push(`upperdir=${upper}`, `workdir=${work}`);
  for (const [k, v] of options) parts.push(v === null ? k : `${k}=${v}`);
  return parts.join(',');
}

/** The legacy mount with relative names: symlinks in `linkDir`, resolved by the kernel in a child whose cwd is there. */
async function mountThroughLinks(target: string, req: OverlayRequest, linkDir: string): Promise<string | null> {
  try {
    const link = (name: string, to: string) => {
      fs.symlinkSync(to, path.join(linkDir, name));
      return name;
    };
    const lowers = req.lowers.map((l, i) => link(i.toString(36), l));
    const upper = req.upper ? (SPECIAL.test(req.upper) ? link('u', req.upper) : req.upper) : undefined;
    const work = req.work ? (SPECIAL.test(req.work) ? link('w', req.work) : req.work) : undefined;
    const data = legacyData(lowers, upper, work, req.options);
    if (data.length >= PAGE) {
      throw new UnsupportedError(
        `an overlay of ${req.lowers.length} layers does not fit in the one page of options mount(2) takes, even with short names; ` +
          'this kernel lacks fsconfig lowerdir+ (Linux 6.8 or later)',
      );
    }
    await new Promise<void>((resolve, reject) => {
      const job = JSON.stringify({ source: OVERLAY_SOURCE, target: path.resolve(target), flags: req.readOnly ? native.constants.MS_RDONLY : 0, data });
      // loaded here: only the legacy fallback runs a child, and child_process costs every CLI start ~5 ms
      const { execFile } = childProcessModule();
      execFile(process.execPath, [workerScript('drivers/overlay/legacy-mount-main'), job], { cwd: linkDir }, (err, _stdout, stderr) => {
        if (!err) return resolve();
        try {
          reject(deserializeError(JSON.parse(stderr) as Record<string, unknown>));
        } catch {
          reject(new Error(`mounting the overlay on ${target} failed: ${stderr.trim() || err.message}`));
        }
      });
    });
    return upper ?? null;
  } finally {
    fs.rmSync(linkDir, { recursive: true, force: true });
  }
}
