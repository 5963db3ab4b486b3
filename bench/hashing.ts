/** 6. Hashing and compression throughput: layerfs's own streams against sha256sum, openssl, gzip, pigz and zstd on the same bytes. */
import * as fs from 'fs';
import * as path from 'path';
import { pipeline } from 'stream/promises';
import type { Transform } from 'stream';
import { Sha256Counter } from '../lib/digest';
import { createCompressor, createDecompressor } from '../lib/tar/compression';
import { FileChunks } from '../lib/tar/file-chunks';
import { measure } from './lib/measure';
import type { Row, Subject } from './lib/report';
import { Ctx, GroupResult, librarySubject, med, sh, shellSubject, skippedSubject, target, throughput, why } from './common';

/** MB/s of a shell command over `bytes` input bytes. */
async function peerRate(ctx: Ctx, name: string, tool: string, cmd: string, bytes: number, runs = ctx.runs): Promise<Subject> {
  const s = await shellSubject(ctx, { name, tool, cmd, runs });
  return { ...s, unit: 'MB/s', sample: s.sample && throughput(s.sample, bytes) };
}

/** MB/s of a layerfs stream transform over a file (4 MiB reads, as the import worker reads). */
async function streamRate(ctx: Ctx, name: string, call: string, file: string, make: () => Transform, bytes: number, runs = ctx.runs): Promise<Subject> {
  try {
    const s = await measure(runs, () => pipeline(fs.createReadStream(file, { highWaterMark: 4 << 20 }), make(), fs.createWriteStream('/dev/null')));
    return { ...librarySubject(name, throughput(s, bytes), call, 'hashing'), unit: 'MB/s' };
  } catch (e) {
    return { ...skippedSubject(name, why(e), call), unit: 'MB/s' };
  }
}

/**
 * As the apply worker reads and hashes a blob (lib/tar/apply.worker.ts): its own reader, FileChunks
 * (synchronous 1 MiB reads into reused buffers), each piece hashed, then given back.
 */
async function hashFile(file: string): Promise<string> {
  const h = new Sha256Counter();
  const reader = new FileChunks(file);
  for await (const piece of reader.chunks()) {
    h.update(piece);
    reader.release(piece);
  }
  return h.digest();
}

export async function hashingGroup(ctx: Ctx): Promise<GroupResult> {
  const { data } = ctx;
  const big = data.plainLayers[data.bigLayer];
  const bigBytes = fs.statSync(big).size;
  // compression runs at tens of MB/s: a quick run compresses a 48 MiB prefix of the base layer
  const tarFile = ctx.quick ? path.join(ctx.work, 'base-prefix.tar') : data.plainLayers[0];
  if (ctx.quick) sh(`head -c ${48 << 20} ${data.plainLayers[0]} > ${tarFile}`);
  const tarBytes = fs.statSync(tarFile).size;
  const gzFile = data.layerBlobs[0];
  const gzBytes = fs.statSync(gzFile).size;
  sh(`cat ${big} ${tarFile} ${gzFile} > /dev/null`); // in the page cache for everyone
  const slow = Math.max(ctx.heavyRuns, Math.min(3, ctx.runs));
  const prefix = ctx.quick ? 'a prefix of ' : '';

  const shaRuns = await measure(ctx.runs, () => hashFile(big));
  const sha: Subject = { ...librarySubject('layerfs: Sha256Counter over FileChunks, the apply worker\'s reader (1 MiB synchronous reads; the import path)', throughput(shaRuns, bigBytes), 'Sha256Counter.update over new FileChunks(file).chunks()', 'hashing'), unit: 'MB/s' };
  const sha256sum = await peerRate(ctx, 'sha256sum', 'sha256sum', `sha256sum ${big}`, bigBytes);
  const openssl = await peerRate(ctx, 'openssl dgst -sha256', 'openssl', `openssl dgst -sha256 ${big}`, bigBytes);

  const gz = await streamRate(ctx, "layerfs: createCompressor('gzip') (zlib level 6)", "createCompressor('gzip')", tarFile, () => createCompressor('gzip'), tarBytes, slow);
  const gunzip = await streamRate(ctx, "layerfs: createDecompressor('gzip')", "createDecompressor('gzip')", gzFile, () => createDecompressor('gzip'), gzBytes);
  const zs = await streamRate(ctx, "layerfs: createCompressor('zstd') (zstd-napi level 3)", "createCompressor('zstd')", tarFile, () => createCompressor('zstd'), tarBytes, slow);

  const rows: Row[] = [
    { label: `sha256 of ${(bigBytes / 2 ** 20).toFixed(0)} MiB`, layerfs: sha, peers: [sha256sum, openssl] },
    {
      label: `gzip of ${prefix}the base layer tar (${(tarBytes / 2 ** 20).toFixed(0)} MiB; MB/s of input)`,
      layerfs: gz,
      peers: [
        await peerRate(ctx, 'gzip -6', 'gzip', `gzip -6 -c ${tarFile} >/dev/null`, tarBytes, slow),
        await peerRate(ctx, 'gzip -1', 'gzip', `gzip -1 -c ${tarFile} >/dev/null`, tarBytes, slow),
        await peerRate(ctx, 'pigz -6 (all cores)', 'pigz', `pigz -6 -c ${tarFile} >/dev/null`, tarBytes, slow),
      ],
    },
    {
      label: `gunzip of the base layer blob (${(gzBytes / 2 ** 20).toFixed(0)} MiB; MB/s of input)`,
      layerfs: gunzip,
      peers: [await peerRate(ctx, 'gzip -dc', 'gzip', `gzip -dc ${gzFile} >/dev/null`, gzBytes), await peerRate(ctx, 'pigz -dc', 'pigz', `pigz -dc ${gzFile} >/dev/null`, gzBytes)],
    },
    { label: `zstd of ${prefix}the base layer tar (${(tarBytes / 2 ** 20).toFixed(0)} MiB; MB/s of input)`, layerfs: zs, peers: [await peerRate(ctx, 'zstd -3', 'zstd', `zstd -3 -q -c ${tarFile} >/dev/null`, tarBytes, slow)] },
  ];
  const o = med(openssl);
  return {
    section: { title: 'Hashing and compression throughput (MB/s; ratio = layerfs / peer)', note: 'All inputs are read from the page cache. The ratio column is layerfs throughput / peer throughput.', rows },
    targets: [target('sha256 throughput at least 90% of openssl dgst -sha256', o ? sha.sample!.median >= 0.9 * o : null, o ? `${((sha.sample!.median / o) * 100).toFixed(0)} % (${sha.sample!.median.toFixed(0)} vs ${o.toFixed(0)} MB/s)` : openssl.skipped ?? '')],
  };
}
