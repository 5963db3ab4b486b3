import * as fs from 'fs';
import { InvalidArgumentError } from '../errors';
import type { ImageFormat } from './types';

export interface ImageRef {
  path: string;
  /** OCI: a ref.name; docker-archive: a repository tag (`name:tag`) or `@N`, the Nth image of manifest.json */
  tag?: string;
  /** from an `oci:`, `oci-archive:` or `docker-archive:` prefix; the contents still decide */
  format?: ImageFormat;
}

const PREFIX = /^(oci|oci-archive|docker-archive):/;

/**
 * `PATH` or `PATH:TAG`, as skopeo and umoci name an image, optionally after a transport prefix
 * (`oci:PATH:TAG`, `oci-archive:PATH`, `docker-archive:PATH:NAME:TAG`). A path may itself hold
 * ':', so the split is at the rightmost ':' whose left side exists; when nothing exists the
 * whole string is the path (and opening it says it is missing).
 */
export function parseImageRef(ref: string): ImageRef {
  let rest = ref;
  let format: ImageFormat | undefined;
  const m = PREFIX.exec(ref);
  if (m && !fs.existsSync(ref)) {
    format = m[1] as ImageFormat;
    rest = ref.slice(m[0].length);
  }
  if (rest === '') throw new InvalidArgumentError(`image reference ${JSON.stringify(ref)} names no path`);
  if (fs.existsSync(rest)) return { path: rest, format };
  for (let i = rest.lastIndexOf(':'); i > 0; i = rest.lastIndexOf(':', i - 1)) {
    if (!fs.existsSync(rest.slice(0, i))) continue;
    const tag = rest.slice(i + 1);
    return tag ? { path: rest.slice(0, i), tag, format } : { path: rest.slice(0, i), format };
  }
  return { path: rest, format };
}

/** Docker's short forms: `busybox` is `docker.io/library/busybox:latest`. */
export function normalizeImageName(ref: string): string {
  let r = ref;
  if (!/:[^/]*$/.test(r) && !r.includes('@')) r += ':latest';
  const first = r.split('/')[0];
  if (!r.includes('/') || !(first.includes('.') || first.includes(':') || first === 'localhost')) r = 'docker.io/' + r;
  if (/^docker\.io\/[^/]+:/.test(r) || /^docker\.io\/[^/]+$/.test(r)) r = r.replace(/^docker\.io\//, 'docker.io/library/');
  return r;
}
