import * as fs from 'fs';
import { Readable } from 'stream';
import type { MessagePort } from 'worker_threads';
import { Sha256Counter } from '../digest';
import { LimitExceededError } from '../errors';
import { workerMain } from '../native/worker-main';
import { createDecompressor, detectCompression } from './compression';
import { LayerApplier } from './apply';
import { TarReader } from './reader';
import { UnionView } from '../view';
import { writeLayerManifestSync } from '../store/layer-manifest';
import { DEFAULT_TAR_LIMITS, ApplyResult, TarLimits } from './types';
import type { WhiteoutFormatName } from '../store/types';

export interface ApplyWorkerData {
  path?: string;
  port?: MessagePort;
  target: string;
  whiteout: WhiteoutFormatName;
  blobPath?: string;
  applyOwners: boolean;
  limits: Partial<TarLimits>;
  total?: number;
  durable?: boolean;
  manifestPath?: string;
  /** the chain below, bottom first, for implicit parent directories */
  lowerDirs?: string[];
}

/** Chunks from the main thread, acknowledged as they are consumed (that is the backpressure). */
async function* fromPort(port: MessagePort): AsyncGenerator<Buffer> {
  const queue: Array<{ chunk?: ArrayBuffer; end?: boolean; error?: string }> = [];
  let wake: (() => void) | null = null;
  port.on('message', (m) => {
    queue.push(m);
    wake?.();
  });
  for (;;) {
    if (!queue.length) await new Promise<void>((r) => (wake = r));
    wake = null;
    const m = queue.shift()!;
    if (m.error) throw new Error(m.error);
    if (m.end) return;
    port.postMessage('ack');
    yield Buffer.from(m.chunk!);
  }
}

async function* fromFile(path: string): AsyncGenerator<Buffer> {
  for await (const c of fs.createReadStream(path, { highWaterMark: 4 << 20 })) yield c as Buffer;
}

workerMain(async (data: ApplyWorkerData, post): Promise<ApplyResult> => {
  const limits: TarLimits = { ...DEFAULT_TAR_LIMITS, ...data.limits };
  const raw = new Sha256Counter();
  const tar = new Sha256Counter();
  const blob = data.blobPath ? fs.openSync(data.blobPath, 'wx', 0o644) : null;
  const lower = data.lowerDirs?.length ? new UnionView(data.lowerDirs, data.whiteout) : null;
  const applier = new LayerApplier(data.target, data.whiteout, limits, data.applyOwners, data.durable, lower);
  const reader = new TarReader(limits, (h) => applier.entry(h));
  let lastProgress = 0;
  const progress = (force = false) => {
    const now = Date.now();
    if (!force && now - lastProgress < 200) return;
    lastProgress = now;
    post({ type: 'progress', bytes: raw.bytes, total: data.total, entries: reader.entries });
  };

  const source = data.path ? fromFile(data.path) : fromPort(data.port!);
  // the first bytes tell the compression
  let first = Buffer.alloc(0);
  let it = await source.next();
  while (!it.done && first.length < 4) {
    first = Buffer.concat([first, it.value]);
    if (first.length < 4) it = await source.next();
  }
  const compression = detectCompression(first);
  async function* rawChunks(): AsyncGenerator<Buffer> {
    let chunk: Buffer | null = first.length ? first : null;
    for (;;) {
      if (chunk) {
        raw.update(chunk);
        if (blob !== null) {
          let o = 0;
          while (o < chunk.length) o += fs.writeSync(blob, chunk, o);
        }
        progress();
        yield chunk;
      }
      const n = await source.next();
      if (n.done) return;
      chunk = n.value;
    }
  }
  if (!it.done && first.length >= 4) {
    // `first` already holds the chunks read so far
  }
  const input = Readable.from(rawChunks(), { objectMode: false, highWaterMark: 4 << 20 });
  const tarStream = compression === 'none' ? input : input.pipe(createDecompressor(compression));
  if (tarStream !== input) input.on('error', (e) => tarStream.destroy(e));
  for await (const chunk of tarStream as AsyncIterable<Buffer>) {
    tar.update(chunk);
    if (compression !== 'none' && tar.bytes > limits.ratioGraceBytes && tar.bytes / Math.max(1, raw.bytes) > limits.maxCompressionRatio) {
      throw new LimitExceededError(null, `decompression bomb: ${tar.bytes} bytes from ${raw.bytes} compressed (ratio over ${limits.maxCompressionRatio})`);
    }
    reader.push(chunk);
  }
  reader.end();
  applier.finish();
  if (data.manifestPath) writeLayerManifestSync(data.target, data.manifestPath, applier.digests);
  if (blob !== null) {
    if (data.durable) fs.fsyncSync(blob);
    fs.closeSync(blob);
  }
  progress(true);
  return { diffId: tar.digest(), digest: raw.digest(), size: raw.bytes, uncompressedSize: tar.bytes, compression, entries: reader.entries, warnings: applier.warnings };
});
