import type { Readable } from 'stream';
import { AbortedError } from '../errors';
import { refOf } from '../store/store-core';
import { withBlobLock } from '../store/downloads';
import type { LayerCore } from '../layers';
import type { FileRange } from '../tar/apply-in-worker';
import type { LayerRef } from '../store/types';
import type { OperationOptions } from '../types';
import type { Descriptor } from './types';

/**
 * One layer of an image to import: where its blob comes from (a file, a stretch of an archive,
 * or a stream: a registry's socket) and what it must verify against. The input is opened only
 * when the layer is started, and never for a layer the store has.
 */
export interface LayerSource {
  descriptor: Descriptor;
  /** from the config's rootfs.diff_ids */
  diffId: string;
  input(): FileRange | Readable | string;
}

export interface ImportLayersOptions extends OperationOptions {
  /** layers written at once, each in a worker thread of its own (default 2: local blobs; a pull gives more, the network waits) */
  jobs?: number;
  /** each layer's own progress (bytes of its blob), for a bar per blob; `skipped` when the store had it */
  onLayerProgress?: (i: number, ev: { bytes: number; total: number; skipped?: boolean; done?: boolean }) => void;
}

/** Layers written at once by default: decompressing, hashing and writing one overlaps the other's. */
export const DEFAULT_JOBS = 2;

/**
 * Which layer to start next: the biggest blob first (a long layer started late would run alone
 * at the end), except that the last free place goes to the lowest layer not started, so the
 * layers started always include the lowest unpublished one and the chain keeps moving.
 */
function nextLayer(todo: number[], sizes: number[], unpublished: number, maxUnpublished: number): number {
  if (unpublished >= maxUnpublished - 1) return Math.min(...todo);
  return todo.reduce((best, i) => (sizes[i] > sizes[best] ? i : best), todo[0]);
}

/**
 * The image's layers, imported side by side: layer N+1 is decompressed, hashed and written
 * while layer N is, each into its own staging directory. Only the last step of a layer, giving
 * implicit parent directories the lower chain's metadata, waits for the layer below, and the
 * layers are published bottom first, so a visible layer always has its parent. A layer the
 * store has (by ChainID) is not read. On the first failure the others are stopped and their
 * staging removed; the error is the lowest failing layer's. Local imports and registry pulls
 * both come through here: only where the bytes come from differs.
 */
export async function importLayers(store: LayerCore, layers: LayerSource[], ids: string[], opts: ImportLayersOptions = {}): Promise<LayerRef[]> {
  const jobs = Math.max(1, Math.floor(opts.jobs ?? DEFAULT_JOBS));
  // a layer that is written waits (idle, holding its worker) for the one below to be published
  const maxUnpublished = jobs + 2;
  const total = layers.reduce((a, l) => a + l.descriptor.size, 0);
  const stop = new AbortController();
  const onAbort = () => stop.abort();
  if (opts.signal?.aborted) stop.abort();
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  const seen = layers.map(() => 0);
  const progress = (i: number, bytes: number) => {
    seen[i] = bytes;
    opts.onProgress?.({ bytes: seen.reduce((a, b) => a + b, 0), total });
    opts.onLayerProgress?.(i, { bytes, total: layers[i].descriptor.size });
  };
  let writing = 0;
  let unpublished = 0;
  let wake: (() => void) | null = null;
  const changed = () => {
    const w = wake;
    wake = null;
    w?.();
  };
  const errors: Array<{ i: number; e: unknown }> = [];
  const imports: Array<Promise<LayerRef>> = [];
  // each layer, published (or failed): a layer waits for the one below it through these
  const settle = layers.map(() => deferred<LayerRef>());
  const below = settle.map((d) => d.promise);
  for (const p of below) p.catch(() => undefined); // a failure is reported once, by the layer that failed
  try {
    const todo: number[] = [];
    for (const [i, layer] of layers.entries()) {
      if (store.hasLayer(ids[i])) {
        settle[i].resolve(refOf(store.getLayerSync(ids[i])));
        seen[i] = layer.descriptor.size;
        opts.onLayerProgress?.(i, { bytes: layer.descriptor.size, total: layer.descriptor.size, skipped: true });
      } else todo.push(i);
    }
    if (layers.length) progress(0, seen[0]);
    const sizes = layers.map((l) => l.descriptor.size);
    while (todo.length) {
      while (!stop.signal.aborted && (writing >= jobs || unpublished >= maxUnpublished)) await new Promise<void>((r) => (wake = r));
      if (stop.signal.aborted) break;
      const i = nextLayer(todo, sizes, unpublished, maxUnpublished);
      todo.splice(todo.indexOf(i), 1);
      const layer = layers[i];
      const d = layer.descriptor;
      let written = false;
      const doneWriting = () => {
        if (written) return;
        written = true;
        writing--;
        changed();
      };
      writing++;
      unpublished++;
      // one download of a blob at a time, across processes: a second pull of it waits, then finds the layer published (or its blob kept)
      const p = withBlobLock(store.paths, d.digest, stop.signal, async () =>
        store.hasLayer(ids[i])
          ? refOf(store.getLayerSync(ids[i]))
          : store.importLayer(layer.input(), {
              parent: i ? ids[i - 1] : null,
              // a parent already in the store is looked up at once; one being imported is waited for
              parentReady: i > 0 && !store.hasLayer(ids[i - 1]) ? below[i - 1] : undefined,
              onWritten: doneWriting,
              expectDiffId: layer.diffId,
              expectDigest: d.digest,
              expectSize: d.size,
              what: `layer ${i} (${d.digest})`,
              signal: stop.signal,
              onProgress: (ev) => progress(i, ev.bytes),
            }),
      ).finally(() => {
        doneWriting();
        unpublished--;
        changed();
      });
      p.then(
        (r) => {
          opts.onLayerProgress?.(i, { bytes: d.size, total: d.size, done: true });
          settle[i].resolve(r);
        },
        (e) => {
          errors.push({ i, e });
          settle[i].reject(e);
          stop.abort();
          changed();
        },
      );
      imports.push(p);
    }
    // layers never started (the import was stopped) fail their waiters
    for (const i of todo) settle[i].reject(new AbortedError(`importing layer ${i}`));
    await Promise.allSettled(imports);
    if (errors.length || stop.signal.aborted) throw firstError(errors, opts.signal);
    return Promise.all(below);
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
  }
}

function deferred<T>(): { promise: Promise<T>; resolve: (v: T) => void; reject: (e: unknown) => void } {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** The error of the lowest failing layer that failed on its own (not stopped because another failed). */
function firstError(errors: Array<{ i: number; e: unknown }>, signal: AbortSignal | undefined): unknown {
  const own = errors.filter(({ e }) => !(e instanceof AbortedError) || signal?.aborted).sort((a, b) => a.i - b.i);
  return (own[0] ?? errors[0])?.e ?? new AbortedError('importing an image');
}
