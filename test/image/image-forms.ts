import * as fs from 'fs';
import * as path from 'path';
import * as zlib from 'zlib';
import { createHash } from 'crypto';
import { execFileSync } from 'child_process';
import type { Readable } from 'stream';
import { buildSmallUmociImage, UmociFixture } from '../fixtures/umoci';

/**
 * Helpers of the image tests: the small umoci image in every form skopeo makes of it, and
 * blobs, layouts and archives written by hand (for what no tool writes: several platforms,
 * legacy `docker save` names, tampering).
 */

export const sha = (b: Buffer | string): string => 'sha256:' + createHash('sha256').update(b).digest('hex');

export async function readAll(s: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of s) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

/** skopeo with a permissive policy file of its own (no system policy is assumed). */
export function skopeo(dir: string, ...args: string[]): string {
  const policy = path.join(dir, 'policy.json');
  if (!fs.existsSync(policy)) fs.writeFileSync(policy, JSON.stringify({ default: [{ type: 'insecureAcceptAnything' }] }));
  try {
    return execFileSync('skopeo', ['--policy', policy, ...args], { stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 << 20 }).toString();
  } catch (e) {
    const err = e as Error & { stderr?: Buffer };
    throw new Error(`skopeo ${args.join(' ')} failed: ${err.stderr?.toString().trim() || err.message}`);
  }
}

export interface Forms {
  fx: UmociFixture;
  /** `layout:l2`: the umoci layout (gzip layers; tags empty, l1, l2) */
  layout: string;
  /** skopeo oci-archive of l2, with no tag inside */
  ociArchive: string;
  /** skopeo docker-archive of l2, tagged name:tag (uncompressed `<hex>.tar` layers) */
  dockerArchive: string;
  /** skopeo copy of l2 with zstd layers, `dir:z` */
  zstdLayout: string;
  /** l2 with its layers gunzipped, `dir:p` (by hand: skopeo's blob cache hands back the gzip blobs it knows) */
  plainLayout: string;
}

export function buildForms(dir: string): Forms {
  const fx = buildSmallUmociImage(dir);
  const src = `oci:${fx.layout}:l2`;
  const forms: Forms = {
    fx,
    layout: `${fx.layout}:l2`,
    ociArchive: path.join(dir, 'img.oci.tar'),
    dockerArchive: path.join(dir, 'img.docker.tar'),
    zstdLayout: path.join(dir, 'zstd') + ':z',
    plainLayout: path.join(dir, 'plain') + ':p',
  };
  skopeo(dir, 'copy', src, `oci-archive:${forms.ociArchive}`);
  skopeo(dir, 'copy', src, `docker-archive:${forms.dockerArchive}:name:tag`);
  skopeo(dir, 'copy', '--dest-compress-format', 'zstd', src, `oci:${forms.zstdLayout}`);
  gunzippedLayout(fx.layout, 'l2', path.join(dir, 'plain'), 'p');
  return forms;
}

/** A layout made by hand, blob by blob. */
export class HandLayout {
  constructor(readonly dir: string) {
    fs.mkdirSync(path.join(dir, 'blobs', 'sha256'), { recursive: true });
    if (!fs.existsSync(path.join(dir, 'oci-layout'))) fs.writeFileSync(path.join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
    if (!fs.existsSync(this.indexPath)) this.setIndex([]);
  }
  get indexPath(): string {
    return path.join(this.dir, 'index.json');
  }
  blobPath(digest: string): string {
    return path.join(this.dir, 'blobs', 'sha256', digest.slice('sha256:'.length));
  }
  put(bytes: Buffer | string, mediaType: string, extra: Record<string, unknown> = {}): { mediaType: string; digest: string; size: number } & Record<string, unknown> {
    const b = Buffer.from(bytes);
    const digest = sha(b);
    fs.writeFileSync(this.blobPath(digest), b);
    return { mediaType, digest, size: b.length, ...extra };
  }
  putJson(obj: unknown, mediaType: string, extra: Record<string, unknown> = {}) {
    return this.put(JSON.stringify(obj), mediaType, extra);
  }
  setIndex(manifests: unknown[]): void {
    fs.writeFileSync(this.indexPath, JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests }));
  }
  index(): { manifests: Array<{ digest: string; size: number; mediaType: string; annotations?: Record<string, string>; platform?: Record<string, string> }> } {
    return JSON.parse(fs.readFileSync(this.indexPath, 'utf8'));
  }
  readJson(digest: string): any {
    return JSON.parse(fs.readFileSync(this.blobPath(digest), 'utf8'));
  }
}

/** A new layout at `to` holding `tag` of `from` with its gzip layers stored uncompressed, tagged `newTag`. */
export function gunzippedLayout(from: string, tag: string, to: string, newTag: string): void {
  const src = new HandLayout(from);
  const md = src.index().manifests.find((m) => m.annotations?.['org.opencontainers.image.ref.name'] === tag)!;
  const manifest = src.readJson(md.digest);
  const out = new HandLayout(to);
  const config = out.put(fs.readFileSync(src.blobPath(manifest.config.digest)), manifest.config.mediaType);
  const layers = manifest.layers.map((l: { digest: string }) => out.put(zlib.gunzipSync(fs.readFileSync(src.blobPath(l.digest))), 'application/vnd.oci.image.layer.v1.tar'));
  const m = out.putJson({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config, layers }, 'application/vnd.oci.image.manifest.v1+json', { annotations: { 'org.opencontainers.image.ref.name': newTag } });
  out.setIndex([m]);
}

/** A copy of a layout, to change. */
export function copyLayout(from: string, to: string): HandLayout {
  fs.cpSync(from, to, { recursive: true });
  return new HandLayout(to);
}

/** GNU tar of `names` inside `dir`, in that order, owned by root, mtime 0. */
export function gnuTar(dir: string, out: string, names: string[], format: 'gnu' | 'pax' | 'ustar' = 'gnu'): void {
  execFileSync('tar', ['-cf', out, `--format=${format}`, '--owner=0', '--group=0', '--numeric-owner', '--mtime=@0', '--no-recursion', '-C', dir, ...names]);
}

export interface LegacyImage {
  /** the tag in the umoci layout */
  tag: string;
  repoTags: string[];
  /** store the layers uncompressed as `<diffid>.tar` with `<id>/layer.tar` a symlink to it (skopeo's form); else the gzip blobs as `<id>/layer.tar` */
  gunzip?: boolean;
  /** put the layers under directory names past ustar's 100 bytes */
  longNames?: boolean;
}

/** A `docker save` archive in the form before Docker 25: `<id>/layer.tar`, `<hex>.json` configs, several images in one manifest.json. */
export function legacyDockerArchive(layoutDir: string, images: LegacyImage[], out: string, format: 'gnu' | 'pax' = 'gnu'): void {
  const src = new HandLayout(layoutDir);
  const stage = fs.mkdtempSync(out + '.stage-');
  const names = new Set<string>();
  const add = (name: string, bytes: Buffer) => {
    fs.mkdirSync(path.dirname(path.join(stage, name)), { recursive: true });
    if (!fs.existsSync(path.join(stage, name))) fs.writeFileSync(path.join(stage, name), bytes);
    for (let d = path.dirname(name); d !== '.'; d = path.dirname(d)) names.add(d);
    names.add(name);
  };
  const entries = images.map((img) => {
    const md = src.index().manifests.find((m) => m.annotations?.['org.opencontainers.image.ref.name'] === img.tag)!;
    const manifest = src.readJson(md.digest);
    const configName = `${manifest.config.digest.slice(7)}.json`;
    add(configName, fs.readFileSync(src.blobPath(manifest.config.digest)));
    const layers = manifest.layers.map((l: { digest: string }, i: number) => {
      const id = sha(`${img.repoTags.join()} ${i}`).slice(7);
      const dir = img.longNames ? `${'long-'.repeat(24)}${id}` : id;
      const gz = fs.readFileSync(src.blobPath(l.digest));
      add(`${dir}/VERSION`, Buffer.from('1.0'));
      if (!img.gunzip) {
        add(`${dir}/layer.tar`, gz);
        return `${dir}/layer.tar`;
      }
      const plain = zlib.gunzipSync(gz);
      const name = `${sha(plain).slice(7)}.tar`;
      add(name, plain);
      fs.symlinkSync(`../${name}`, path.join(stage, dir, 'layer.tar'));
      names.add(`${dir}/layer.tar`);
      return `${dir}/layer.tar`;
    });
    return { Config: configName, RepoTags: img.repoTags, Layers: layers };
  });
  add('manifest.json', Buffer.from(JSON.stringify(entries)));
  gnuTar(stage, out, [...names].sort(), format);
  fs.rmSync(stage, { recursive: true, force: true });
}

/** An image for a platform in a hand-made layout: a gzip layer holding /platform (its name), its config and its manifest descriptor (with the platform). */
export function platformImage(l: HandLayout, p: { os: string; architecture: string; variant?: string }, docker = false) {
  const name = [p.os, p.architecture, p.variant].filter(Boolean).join('-');
  const stage = path.join(l.dir, '..', `stage-${name}`);
  fs.mkdirSync(stage, { recursive: true });
  fs.writeFileSync(path.join(stage, 'platform'), name + '\n');
  gnuTar(stage, path.join(stage, '..', `${name}.tar`), ['platform']);
  const tar = fs.readFileSync(path.join(stage, '..', `${name}.tar`));
  const layer = l.put(zlib.gzipSync(tar), docker ? 'application/vnd.docker.image.rootfs.diff.tar.gzip' : 'application/vnd.oci.image.layer.v1.tar+gzip');
  const config = l.putJson({ ...p, rootfs: { type: 'layers', diff_ids: [sha(tar)] }, config: { Cmd: ['/platform'] } }, docker ? 'application/vnd.docker.container.image.v1+json' : 'application/vnd.oci.image.config.v1+json');
  const mt = docker ? 'application/vnd.docker.distribution.manifest.v2+json' : 'application/vnd.oci.image.manifest.v1+json';
  return l.putJson({ schemaVersion: 2, mediaType: mt, config, layers: [layer] }, mt, { platform: p });
}

/** The smallest image of a hand-made layout: one empty tar layer (openImage reads layer bytes only when they are streamed). */
export function emptyImage(l: HandLayout, config: Record<string, unknown> = {}) {
  const tar = Buffer.alloc(1024);
  const layer = l.put(tar, 'application/vnd.oci.image.layer.v1.tar');
  const cfg = l.putJson({ os: 'linux', architecture: 'amd64', ...config, rootfs: { type: 'layers', diff_ids: [sha(tar)] } }, 'application/vnd.oci.image.config.v1+json');
  return l.putJson({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: cfg, layers: [layer] }, 'application/vnd.oci.image.manifest.v1+json');
}

/**
 * A one-layer image of this machine's platform holding `files`, added to a hand-made layout under
 * `tag` (umoci's and Docker 25+'s default tag is `latest`).
 */
export function fileImage(l: HandLayout, files: Record<string, string>, tag?: string) {
  const stage = fs.mkdtempSync(path.join(l.dir, '..', 'stage-'));
  for (const [name, body] of Object.entries(files)) fs.writeFileSync(path.join(stage, name), body);
  gnuTar(stage, stage + '.tar', Object.keys(files).sort());
  const tar = fs.readFileSync(stage + '.tar');
  const arch = ({ x64: 'amd64', arm64: 'arm64' } as Record<string, string>)[process.arch] ?? process.arch;
  const layer = l.put(zlib.gzipSync(tar), 'application/vnd.oci.image.layer.v1.tar+gzip');
  const config = l.putJson({ os: 'linux', architecture: arch, rootfs: { type: 'layers', diff_ids: [sha(tar)] } }, 'application/vnd.oci.image.config.v1+json');
  const m = l.putJson({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config, layers: [layer] }, 'application/vnd.oci.image.manifest.v1+json', tag === undefined ? {} : { annotations: { 'org.opencontainers.image.ref.name': tag } });
  l.setIndex([...l.index().manifests.filter((d) => tag === undefined || d.annotations?.['org.opencontainers.image.ref.name'] !== tag), m]);
  return { ...m, diffId: sha(tar) };
}
