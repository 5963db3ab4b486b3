/**
 * One layerfs operation in a process of its own, so that its time, CPU and peak RSS are its
 * own: prints one JSON line { seconds, cpuSeconds, peakRssBytes } (peak RSS from VmHWM, which
 * counts the worker threads too).
 *
 *   node dist/bench/child.js import-image STORE IMAGE
 *   node dist/bench/child.js import-layer STORE BLOB
 *   node dist/bench/child.js commit STORE CHAIN FILE [gzip|zstd|none]   (a container on CHAIN gets FILE, then is committed)
 *   node dist/bench/child.js pull STORE REF                     (plain HTTP, as to a loopback registry)
 *   node dist/bench/child.js push STORE SOURCE REF [FROM]       (prints bytes sent too)
 *   node dist/bench/child.js idle
 */
import * as fs from 'fs';
import * as path from 'path';
import { LayerStore } from '../lib/layer-store';
import type { ChildResult } from './common';

function vmHwm(): number {
  const m = /^VmHWM:\s+(\d+) kB/m.exec(fs.readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}

async function timed(fn: () => Promise<unknown>): Promise<{ seconds: number; cpuSeconds: number }> {
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  await fn();
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const c = process.cpuUsage(c0);
  return { seconds, cpuSeconds: (c.user + c.system) / 1e6 };
}

async function main(): Promise<void> {
  const [op, storeDir, a, b, c] = process.argv.slice(2);
  let t = { seconds: 0, cpuSeconds: 0 };
  if (op === 'import-image') {
    const store = await LayerStore.open(storeDir);
    t = await timed(() => store.importImage(a, { name: 'bench' }));
  } else if (op === 'import-layer') {
    const store = await LayerStore.open(storeDir);
    t = await timed(() => store.importLayer(a));
  } else if (op === 'commit') {
    const store = await LayerStore.open(storeDir);
    const ctr = await store.createContainer(a, { driver: 'auto' });
    try {
      const root = await ctr.mount();
      fs.copyFileSync(b, path.join(root, 'big-copy.bin'));
      let made: string | undefined;
      t = await timed(async () => {
        made = (await ctr.commit({ compression: (c ?? 'gzip') as 'gzip' | 'zstd' | 'none' })).chainId;
      });
      await ctr.remove();
      if (made) await store.removeLayer(made);
    } catch (e) {
      await ctr.remove().catch(() => undefined);
      throw e;
    }
  } else if (op === 'pull') {
    const store = await LayerStore.open(storeDir);
    t = await timed(() => store.pull(a, { tlsVerify: false, name: 'bench' }));
  } else if (op === 'push') {
    const store = await LayerStore.open(storeDir);
    let bytes = 0;
    t = await timed(async () => {
      bytes = (await store.push(a, b, { tlsVerify: false, from: c })).bytes;
    });
    (t as { bytes?: number }).bytes = bytes;
  } else if (op !== 'idle') {
    throw new Error(`unknown operation ${op}`);
  }
  const out: ChildResult = { ...t, peakRssBytes: vmHwm() };
  process.stdout.write(JSON.stringify(out) + '\n');
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
