import { MessageChannel } from 'worker_threads';
import type { Readable } from 'stream';
import { runWorker } from '../native/workers';
import type { ApplyOptions, ApplyResult } from './types';
import type { ApplyWorkerData } from './apply-worker';

const IN_FLIGHT = 8;

/**
 * Applies a layer tarball (plain, gzip or zstd, told by its bytes) into `target`, an empty
 * directory: hashing the bytes as received (digest) and uncompressed (DiffID), optionally
 * keeping them as the blob, all in one pass in a worker thread.
 */
export async function applyLayer(input: Readable | string, target: string, opts: ApplyOptions): Promise<ApplyResult> {
  const data: ApplyWorkerData = {
    target,
    whiteout: opts.whiteout,
    blobPath: opts.blobPath,
    applyOwners: opts.applyOwners ?? process.getuid?.() === 0,
    limits: opts.limits ?? {},
    total: opts.total,
    durable: opts.durable,
    manifestPath: opts.manifestPath,
    lowerDirs: opts.lowerDirs,
  };
  const onMessage = (m: { type: string; bytes?: unknown; total?: unknown; entries?: unknown }) => {
    if (m.type === 'progress') opts.onProgress?.({ bytes: m.bytes as number, total: m.total as number | undefined, entries: m.entries as number });
  };
  if (typeof input === 'string') return runWorker<ApplyResult>('tar/apply-worker', { ...data, path: input }, { signal: opts.signal, onMessage });

  const { port1, port2 } = new MessageChannel();
  let stop = false;
  let inputError: unknown;
  const pump = async () => {
    let inFlight = 0;
    let release: (() => void) | null = null;
    port1.on('message', () => {
      inFlight--;
      release?.();
    });
    try {
      for await (const c of input) {
        if (stop) break;
        const b = typeof c === 'string' ? Buffer.from(c) : (c as Buffer);
        const copy = new Uint8Array(b); // its own ArrayBuffer, so it can be transferred
        port1.postMessage({ chunk: copy.buffer }, [copy.buffer]);
        inFlight++;
        while (inFlight >= IN_FLIGHT && !stop) await new Promise<void>((r) => (release = r));
      }
      port1.postMessage({ end: true });
    } catch (e) {
      inputError = e;
      port1.postMessage({ error: `reading the input failed: ${(e as Error).message}` });
    }
  };
  const done = runWorker<ApplyResult>('tar/apply-worker', { ...data, port: port2 }, { signal: opts.signal, onMessage, transferList: [port2] });
  void pump();
  try {
    return await done;
  } catch (e) {
    // the input's own error (a digest or size mismatch, a read error) says more than the worker's echo
    throw inputError ?? e;
  } finally {
    stop = true;
    port1.close();
    input.destroy?.();
  }
}
