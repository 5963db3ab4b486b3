import * as fs from 'fs';
import * as path from 'path';
import { createHash } from 'crypto';
import { readImage } from '../fixtures/umoci';

/**
 * Just enough of the OCI image layout to hand layers to a peer: a new layout, and an image
 * made of another tag's layers plus one more (a raw layer add, the blob as it is).
 */

const digestOf = (b: Buffer) => 'sha256:' + createHash('sha256').update(b).digest('hex');

function putBlob(layout: string, data: Buffer): { digest: string; size: number } {
  const digest = digestOf(data);
  const p = path.join(layout, 'blobs', 'sha256', digest.slice(7));
  if (!fs.existsSync(p)) fs.writeFileSync(p, data);
  return { digest, size: data.length };
}

export function newLayout(layout: string): void {
  fs.mkdirSync(path.join(layout, 'blobs', 'sha256'), { recursive: true });
  fs.writeFileSync(path.join(layout, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  fs.writeFileSync(path.join(layout, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [] }));
}

export interface LayerBlob {
  file: string;
  diffId: string;
  mediaType: string;
}

/** Tags `tag`: the image `from` (or no image) with `layer` on top. */
export function addLayer(layout: string, from: string | null, layer: LayerBlob, tag: string): void {
  const base = from ? readImage(layout, from) : null;
  const blob = putBlob(layout, fs.readFileSync(layer.file));
  const oldConfig = (base ? JSON.parse(fs.readFileSync(base.configPath, 'utf8')) : { architecture: 'amd64', os: 'linux', config: {}, history: [] }) as Record<string, unknown> & { history?: unknown[] };
  const config = {
    ...oldConfig,
    rootfs: { type: 'layers', diff_ids: [...(base?.config.rootfs.diff_ids ?? []), layer.diffId] },
    history: [...(oldConfig.history ?? []), { created: '2024-01-01T00:00:00Z', created_by: 'layerfs commit' }],
  };
  const configBlob = putBlob(layout, Buffer.from(JSON.stringify(config)));
  const manifest = {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...configBlob },
    layers: [...(base?.manifest.layers ?? []), { mediaType: layer.mediaType, ...blob }],
  };
  const manifestBlob = putBlob(layout, Buffer.from(JSON.stringify(manifest)));
  const indexPath = path.join(layout, 'index.json');
  const index = JSON.parse(fs.readFileSync(indexPath, 'utf8')) as { manifests: unknown[] };
  index.manifests.push({ mediaType: manifest.mediaType, ...manifestBlob, annotations: { 'org.opencontainers.image.ref.name': tag } });
  fs.writeFileSync(indexPath, JSON.stringify(index));
}
