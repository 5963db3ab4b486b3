import * as fs from 'fs';
import type { LayerStore } from '../layer-store';
import type { Container } from '../container';
import type { ImageConfig } from '../oci/image-config';
import { InvalidArgumentError, NotFoundError } from '../errors';
import { recordsNamed } from '../container/names';
import { imageOf } from './image-ref';

/**
 * The one resolver of the names the CLI takes for a chain, an image or a container. Every command
 * accepts the same forms, tried in this order:
 *   - `scratch`: the empty base (no layers), where the command takes a chain or a base image;
 *   - a full ChainID (`sha256:<64 hex>` or the 64 hex digits) of a layer in the store;
 *   - the name of an imported image (or, where the command reads one, a layout or archive path);
 *   - a container's id or name;
 *   - a unique hex prefix of a ChainID or a container id. A prefix that fits more than one is an
 *     error that lists the candidates (with their kind), so nothing is picked by chance.
 */
export type Ref =
  | { kind: 'scratch' }
  | { kind: 'chain'; chain: string }
  | { kind: 'image'; chain: string; config: ImageConfig; name?: string }
  | { kind: 'container'; container: Container };

export interface RefKinds {
  scratch?: boolean;
  chain?: boolean;
  image?: boolean;
  /** an image layout or archive path (its layers are imported on the way, no record is made) */
  imagePath?: boolean;
  container?: boolean;
}

const HEX = /^[0-9a-f]+$/;

function describe(kinds: RefKinds): string {
  const what = [kinds.scratch && '"scratch"', kinds.chain && 'a ChainID (or a unique prefix)', (kinds.image || kinds.imagePath) && (kinds.imagePath ? 'an image (imported name or path)' : 'an imported image name'), kinds.container && 'a container (id, name or unique id prefix)'].filter(Boolean);
  return what.length > 1 ? `${what.slice(0, -1).join(', ')} or ${what[what.length - 1]}` : String(what[0]);
}

function chainsWithPrefix(store: LayerStore, hex: string): string[] {
  return fs.readdirSync(store.paths.layersDir).filter((n) => n.startsWith(hex) && store.hasLayer(`sha256:${n}`)).map((n) => `sha256:${n}`);
}

function containersWithPrefix(store: LayerStore, hex: string): string[] {
  const dir = store.paths.containersDir;
  return fs.existsSync(dir) ? fs.readdirSync(dir).filter((n) => n.startsWith(hex) && fs.existsSync(store.paths.containerRecord(n))) : [];
}

/** Resolves `arg` to one of `kinds`; LAYERFS_NOT_FOUND when nothing fits, LAYERFS_INVALID_ARGUMENT when a prefix fits several. */
export async function resolveRef(store: LayerStore, arg: string, kinds: RefKinds, onProgress?: (p: { bytes: number; total?: number }) => void): Promise<Ref> {
  if (kinds.scratch && arg === 'scratch') return { kind: 'scratch' };
  const hex = arg.replace(/^sha256:/, '');
  const full = /^[0-9a-f]{64}$/.test(hex);
  if (kinds.chain && full && store.hasLayer(`sha256:${hex}`)) return { kind: 'chain', chain: `sha256:${hex}` };
  if (kinds.container && full && fs.existsSync(store.paths.containerRecord(hex))) return { kind: 'container', container: await store.getContainer(hex) };
  if (kinds.image || kinds.imagePath) {
    const rec = kinds.imagePath ? await imageOf(store, arg, onProgress) : store.importedImage(arg);
    if (rec) return { kind: 'image', chain: rec.chain, config: rec.config, name: rec.name };
  }
  if (kinds.container && arg !== '' && recordsNamed(store, arg).length) return { kind: 'container', container: await store.getContainer(arg) };
  if (HEX.test(hex) && !full) {
    const candidates = [
      ...(kinds.chain ? chainsWithPrefix(store, hex).map((id) => ({ kind: 'chain' as const, id })) : []),
      ...(kinds.container ? containersWithPrefix(store, hex).map((id) => ({ kind: 'container' as const, id })) : []),
    ];
    if (candidates.length > 1) {
      const list = candidates.map((c) => `${c.kind} ${c.id.replace(/^sha256:/, '').slice(0, 12)}`).join(', ');
      throw new InvalidArgumentError(`${JSON.stringify(arg)} is ambiguous: it begins ${list}; give more of it`);
    }
    if (candidates.length === 1) {
      const [c] = candidates;
      return c.kind === 'chain' ? { kind: 'chain', chain: c.id } : { kind: 'container', container: await store.getContainer(c.id) };
    }
  }
  if (full && kinds.chain) throw new NotFoundError(arg, `no layer with ChainID sha256:${hex} in the store${kinds.container ? ', and no container with that id' : ''}`);
  // with no container to name, what is neither hex nor an image is a malformed argument (a usage error)
  if (kinds.chain && !kinds.container && !HEX.test(hex)) {
    const chainForms = `sha256:<64 hex digits>, a hex prefix${kinds.scratch ? ', or "scratch"' : ''}`;
    if (kinds.image || kinds.imagePath) throw new InvalidArgumentError(`${JSON.stringify(arg)} is no image in the store, ${kinds.imagePath ? 'no image path, ' : ''}and no ChainID (${chainForms})`);
    throw new InvalidArgumentError(`bad ChainID ${JSON.stringify(arg)}: expected ${chainForms}`);
  }
  throw new NotFoundError(arg, `${JSON.stringify(arg)} names nothing in the store: expected ${describe(kinds)}`);
}

/** A chain argument (scratch: null) of a command that takes a chain or an image. */
export async function resolveChainRef(store: LayerStore, arg: string, kinds: RefKinds, onProgress?: (p: { bytes: number; total?: number }) => void): Promise<string | null> {
  const r = await resolveRef(store, arg, kinds, onProgress);
  if (r.kind === 'scratch') return null;
  if (r.kind === 'container') throw new InvalidArgumentError(`${JSON.stringify(arg)} is a container, not a chain or an image`);
  return r.chain;
}
