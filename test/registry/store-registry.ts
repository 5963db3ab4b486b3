import { execFileSync } from 'child_process';
import { randomBytes } from 'crypto';
import * as fs from 'fs';
import * as net from 'net';
import * as path from 'path';
import { LayerStore } from '../../lib/layer-store';

/**
 * Helpers of the pull and push tests: a store, an image of two layers made with layerfs (a small
 * one, and one with an incompressible file, so a blob is big enough to cut in the middle), and a
 * TCP proxy between the client and the registry that can cut, corrupt or slow one blob's answer.
 */

export const openStore = (dir: string): Promise<LayerStore> => LayerStore.open(dir, { whiteout: 'oci' });

/** A layout `dir`/layout:v1 of two gzip layers (the second `bigBytes` of random data) and its store. */
export async function makeImage(dir: string, bigBytes = 3 << 20): Promise<{ layout: string; store: LayerStore; chain: string; bigBlob: { digest: string; size: number } }> {
  const a = path.join(dir, 'a');
  const b = path.join(dir, 'b');
  fs.mkdirSync(path.join(a, 'etc'), { recursive: true });
  fs.writeFileSync(path.join(a, 'etc', 'hostname'), 'base\n');
  fs.mkdirSync(path.join(a, 'bin'));
  fs.writeFileSync(path.join(a, 'bin', 'tool'), '#!/bin/sh\necho tool\n', { mode: 0o755 });
  fs.mkdirSync(path.join(b, 'data'), { recursive: true });
  fs.writeFileSync(path.join(b, 'data', 'big.bin'), randomBytes(bigBytes));
  execFileSync('tar', ['--numeric-owner', '-czf', path.join(dir, 'a.tgz'), '-C', a, '.']);
  execFileSync('tar', ['--numeric-owner', '-czf', path.join(dir, 'b.tgz'), '-C', b, '.']);
  const store = await openStore(path.join(dir, 'src-store'));
  const l0 = await store.importLayer(path.join(dir, 'a.tgz'));
  const l1 = await store.importLayer(path.join(dir, 'b.tgz'), { parent: l0.chainId });
  const layout = path.join(dir, 'layout');
  await store.exportImage(l1.chainId, { to: layout, tag: 'v1', config: { Cmd: ['/bin/tool'] }, created: '2024-01-01T00:00:00Z' });
  return { layout: `${layout}:v1`, store, chain: l1.chainId, bigBlob: { digest: l1.digest, size: l1.size } };
}

/** The content index of every layer of a chain, bottom first: what the tree of each layer is. */
export function chainTrees(store: LayerStore, chain: string): string[] {
  return store.chainSync(chain).map((l) => fs.readFileSync(store.paths.contentIndex(l.chainId), 'utf8'));
}

export interface FaultProxy {
  host: string;
  /** bytes the client sent through it (requests and uploads) */
  sent(): number;
  /** bytes the registry sent through it */
  received(): number;
  /** whether it cut or corrupted an answer */
  faulted(): boolean;
  /** the request lines the client sent (`GET /v2/app/src/blobs/sha256:…`), in order */
  requests(): string[];
  /** the Range headers the client sent (`bytes=N-`), each once, in order */
  ranges(): string[];
  close(): Promise<void>;
}

export interface FaultOptions {
  /** the answer to fault is the one whose Content-Length is this (a blob's size); -1: none, the proxy only passes and counts */
  size: number;
  /** cut the connection once that many bytes of its body have passed */
  cutAt?: number;
  /** flip one byte of its body, at this offset */
  flipAt?: number;
  /** pass at most this many bytes per second from the registry (so a pull can be killed midway) */
  bytesPerSecond?: number;
  /** called once when this many bytes have gone from the client to the registry */
  onSent?: { bytes: number; fn: () => void };
  /** fault only the first answer of that size (default true) */
  once?: boolean;
}

/**
 * A TCP proxy on 127.0.0.1 in front of `target` (HOST:PORT). It reads the registry's answers as
 * HTTP/1.1 just enough to find the body of the one answer of `size` bytes, and cuts or corrupts it.
 */
export function faultProxy(target: string, opts: FaultOptions): Promise<FaultProxy> {
  const [thost, tport] = [target.split(':')[0], Number(target.split(':')[1])];
  let sent = 0;
  let received = 0;
  let faulted = false;
  let fired = false;
  const sockets = new Set<net.Socket>();
  const requests: string[] = [];
  const ranges: string[] = [];
  const server = net.createServer((client) => {
    const upstream = net.connect(tport, thost);
    // the tail of what the client sent, so a request line split between two reads is still seen
    let carry = '';
    sockets.add(client).add(upstream);
    client.on('close', () => sockets.delete(client));
    upstream.on('close', () => sockets.delete(upstream));
    client.on('data', (d: Buffer) => {
      sent += d.length;
      const text = carry + d.toString('latin1');
      const line = /(?:^|\r\n)((?:GET|HEAD|PUT|POST|PATCH|DELETE) \S+) HTTP\/1\.1\r\n/g;
      let last = 0;
      for (let m = line.exec(text); m; m = line.exec(text)) {
        requests.push(m[1]);
        last = line.lastIndex - 2;
      }
      // a header seen again through the carried tail is counted once
      for (const m of text.matchAll(/\r\nrange:\s*(bytes=\d+-\d*)\r\n/gi)) if (!ranges.includes(m[1])) ranges.push(m[1]);
      carry = text.slice(Math.max(last, text.length - 1024));
      if (opts.onSent && !fired && sent >= opts.onSent.bytes) {
        fired = true;
        opts.onSent.fn();
      }
      upstream.write(d);
    });
    // where the faulted body is in this connection's answers: bytes of it seen so far, or -1
    let head = '';
    let body = -1;
    let left = 0;
    let paused = Promise.resolve();
    upstream.on('data', (d: Buffer) => {
      received += d.length;
      let out = d;
      if (!(faulted && opts.once !== false) || body >= 0) {
        if (body < 0 && left === 0) {
          head += d.toString('latin1');
          const end = head.indexOf('\r\n\r\n');
          const m = /content-length:\s*(\d+)/i.exec(head);
          if (end >= 0 && m && Number(m[1]) === opts.size && /^HTTP\/1\.1 20[06]/.test(head)) {
            body = 0;
            const already = head.length - (end + 4);
            body = already;
            head = '';
          } else if (end >= 0) {
            left = m ? Math.max(0, Number(m[1]) - (head.length - (end + 4))) : 0;
            head = '';
          }
        } else if (body < 0) {
          left = Math.max(0, left - d.length);
        } else body += d.length;
        if (body >= 0) {
          const start = body - d.length; // this chunk's first body offset (negative: header bytes in front)
          if (opts.flipAt !== undefined && opts.flipAt >= start && opts.flipAt < body) {
            out = Buffer.from(d);
            out[opts.flipAt - start] ^= 0x01;
            faulted = true;
          }
          if (opts.cutAt !== undefined && body >= opts.cutAt) {
            faulted = true;
            client.write(d.subarray(0, Math.max(0, d.length - (body - opts.cutAt))));
            client.destroy();
            upstream.destroy();
            return;
          }
          if (body >= opts.size) body = -1;
        }
      }
      if (opts.bytesPerSecond) {
        upstream.pause();
        const delay = (out.length / opts.bytesPerSecond) * 1000;
        paused = paused.then(() => new Promise<void>((r) => setTimeout(r, delay))).then(() => {
          client.write(out);
          upstream.resume();
        });
      } else client.write(out);
    });
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end);
    upstream.on('error', end);
    client.on('end', () => upstream.end());
    upstream.on('end', () => void paused.then(() => client.end()));
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as net.AddressInfo).port;
      resolve({
        host: `127.0.0.1:${port}`,
        sent: () => sent,
        faulted: () => faulted,
        requests: () => [...requests],
        ranges: () => [...ranges],
        received: () => received,
        close: () =>
          new Promise<void>((r) => {
            for (const s of sockets) s.destroy();
            server.close(() => r());
          }),
      });
    });
  });
}
