import { PassThrough } from 'stream';
import type { Readable } from 'stream';
import { InvalidArgumentError } from '../errors';
import { openImage } from '../image/open';
import { writeImage } from '../image/write';
import type { ImageFormat, OpenedImage, Platform } from '../image/types';
import { pullEndpoints, remoteRef, connect } from './connect';
import type { ConnectOptions } from './connect';
import { openRemoteImage } from './remote-image';
import { pushImage } from './push';
import type { PushResult } from './push';

/** One side of a copy, in skopeo's transport names. */
export type Transport = { kind: 'docker'; ref: string } | { kind: ImageFormat; path: string; tag?: string };

const LOCAL = /^(oci|oci-archive|docker-archive):(.+)$/;

/**
 * `docker://HOST/REPO[:TAG]`, `oci:PATH[:TAG]`, `oci-archive:PATH[:TAG]` or
 * `docker-archive:PATH[:NAME:TAG]`. A destination's path may not exist yet, so the tag is what
 * follows the path's first ':' (a path with a ':' of its own cannot be named here).
 */
export function parseTransport(s: string): Transport {
  if (s.startsWith('docker://')) return { kind: 'docker', ref: s };
  const m = LOCAL.exec(s);
  if (!m) throw new InvalidArgumentError(`${JSON.stringify(s)} names no transport: docker://HOST/REPO[:TAG], oci:PATH[:TAG], oci-archive:PATH or docker-archive:PATH`);
  const rest = m[2];
  const at = rest.indexOf(':');
  return at < 0 ? { kind: m[1] as ImageFormat, path: rest } : { kind: m[1] as ImageFormat, path: rest.slice(0, at), tag: rest.slice(at + 1) || undefined };
}

export interface CopyOptions extends ConnectOptions {
  platform?: Platform;
}

export interface CopyResult {
  manifestDigest: string;
  configDigest: string;
  /** a push: what each blob cost */
  pushed?: PushResult;
}

/** Skips the first `n` bytes of a stream (a resumed upload of a blob read from the start). */
function skip(s: Readable, n: number): Readable {
  if (n === 0) return s;
  let left = n;
  const out = new PassThrough();
  s.on('error', (e) => out.destroy(e));
  s.on('data', (c: Buffer) => {
    if (left >= c.length) left -= c.length;
    else {
      const piece = left ? c.subarray(left) : c;
      left = 0;
      if (!out.write(piece)) {
        s.pause();
        out.once('drain', () => s.resume());
      }
    }
  });
  s.on('end', () => out.end());
  return out;
}

async function openSource(src: Transport, opts: CopyOptions, close: Array<() => Promise<void>>): Promise<OpenedImage> {
  if (src.kind !== 'docker') return openImage(`${src.kind}:${src.path}${src.tag !== undefined ? ':' + src.tag : ''}`, { platform: opts.platform });
  const r = remoteRef(src.ref);
  const eps = pullEndpoints(r.ref, opts);
  for (const e of eps) close.push(() => e.client.close());
  let last: unknown;
  for (const e of eps) {
    try {
      return await openRemoteImage(e.client, e.repository, e.reference, { platform: opts.platform, signal: opts.signal, where: r.where });
    } catch (err) {
      last = err;
    }
  }
  throw last;
}

/**
 * Copies an image between a registry and a local layout or archive, or between two of either:
 * blobs stream from the source to the destination, each verified on the way (nothing goes
 * through the store). The config and manifest are written as an export writes them (OCI).
 */
export async function copyImage(from: string, to: string, opts: CopyOptions = {}): Promise<CopyResult> {
  const src = parseTransport(from);
  const dst = parseTransport(to);
  const dstRef = dst.kind === 'docker' ? remoteRef(dst.ref) : null;
  if (dstRef?.ref.digest) throw new InvalidArgumentError(`copy to ${to}: a destination names a tag, not a digest`);
  const close: Array<() => Promise<void>> = [];
  try {
    const img = await openSource(src, opts, close);
    close.push(() => img.close());
    if (dst.kind !== 'docker') {
      const w = await writeImage(dst.path, { format: dst.kind, tag: dst.tag, config: img.config, layers: img.layers, raw: img.raw });
      return w;
    }
    const client = connect(dstRef!.ref.host, opts);
    close.push(() => client.close());
    const layers = img.layers.map((l) => ({ ...l.descriptor, open: (offset: number) => skip(l.open(), offset) }));
    const pushed = await pushImage(null, client, dstRef!.ref.host, dstRef!.ref.repository, dstRef!.ref.tag, { config: img.config, layers, raw: img.raw }, { jobs: opts.jobs, signal: opts.signal });
    return { manifestDigest: pushed.manifestDigest, configDigest: pushed.configDigest, pushed };
  } finally {
    for (const c of close.reverse()) await c().catch(() => undefined);
  }
}
