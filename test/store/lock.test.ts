/**
 * One store lock: import, create, commit and remove hold it shared; gc and rmi exclusive. Without
 * it, gc deleted what an import in progress had published and not yet referenced: the blob goes
 * in before its layer, the lower layers before the upper ones, and the image record last.
 */
import * as fs from 'fs';
import * as path from 'path';
import { spawn, spawnSync } from 'child_process';
import { LayerStore } from '../../lib/layer-store';
import { BusyError } from '../../lib/errors';
import { withStoreLock } from '../../lib/store/lock';
import { chainIds } from '../../lib/digest';
import { rawTar } from '../fixtures/hostile-tar';
import { describeIf } from '../fixtures/peers';
import { HandLayout, sha } from '../image/image-forms';
import { cleanup, tempDir } from '../drivers/helpers';

const CLI = path.resolve(__dirname, '../../bin/layerfs');

let work: string;
beforeEach(() => (work = tempDir('lock')));
afterEach(() => cleanup(work));

/** An OCI layout of `n` plain layers, tagged `v1`. */
function layout(n: number): { dir: string; diffIds: string[] } {
  const l = new HandLayout(path.join(work, 'layout'));
  const layers = Array.from({ length: n }, (_, i) => l.put(rawTar([{ name: `l${i}/`, type: '5' }, { name: `l${i}/f`, body: `layer ${i}\n`.repeat(1000) }]), 'application/vnd.oci.image.layer.v1.tar'));
  const diffIds = layers.map((d) => d.digest);
  const config = l.putJson({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: diffIds }, config: {} }, 'application/vnd.oci.image.config.v1+json');
  const manifest = l.putJson({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config, layers }, 'application/vnd.oci.image.manifest.v1+json');
  l.setIndex([{ ...manifest, annotations: { 'org.opencontainers.image.ref.name': 'v1' } }]);
  return { dir: l.dir, diffIds };
}

/** Holds the first layer import of `store` once it is published, until `release` (a test hook on the instance). */
function pauseAfterFirstLayer(store: LayerStore): { published: Promise<void>; release: () => void } {
  let release!: () => void;
  let published!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const first = new Promise<void>((r) => (published = r));
  const importLayer = store.importLayer.bind(store);
  let n = 0;
  store.importLayer = async (...args) => {
    const ref = await importLayer(...args);
    if (n++ === 0) {
      published();
      await gate;
    }
    return ref;
  };
  return { published: first, release };
}

describeIf(['addon'])('withStoreLock', () => {
  test('shared holds run together and nest; exclusive waits for them and gives up with LAYERFS_BUSY; a shared hold cannot turn exclusive', async () => {
    const lock = path.join(work, 'lock');
    const order: string[] = [];
    let releaseA!: () => void;
    const a = withStoreLock(lock, 'shared', async () => {
      order.push('a');
      await new Promise<void>((r) => (releaseA = r));
      // nested: taken once, no wait
      await withStoreLock(lock, 'shared', async () => order.push('a-nested'));
      await expect(withStoreLock(lock, 'exclusive', async () => undefined)).rejects.toThrow('held shared by this operation');
    });
    await withStoreLock(lock, 'shared', async () => order.push('b')); // beside a
    const busy = await withStoreLock(lock, 'exclusive', async () => 'ran', { timeoutMs: 0 }).catch((e) => e);
    expect(busy).toBeInstanceOf(BusyError);
    expect(busy.code).toBe('LAYERFS_BUSY');
    let waiting = false;
    const ex = withStoreLock(lock, 'exclusive', async () => order.push('exclusive'), { onWait: () => (waiting = true) });
    while (!waiting) await new Promise((r) => setTimeout(r, 10));
    releaseA();
    await a;
    await ex;
    expect(order).toEqual(['a', 'b', 'a-nested', 'exclusive']);
  });
});

describeIf(['addon'])('the store lock across processes', () => {
  test('gc --layers in another process while an image import is half done: it fails at once with --lock-timeout 0, else waits; nothing of the import is deleted', async () => {
    const { dir, diffIds } = layout(3);
    const ids = chainIds(diffIds);
    const root = path.join(work, 'store');
    const store = await LayerStore.open(root);
    const hook = pauseAfterFirstLayer(store);
    const importing = store.importImage(`${dir}:v1`, { name: 'img' });
    importing.catch(() => undefined); // awaited below; a failed expectation must not leave it paused
    try {
      await checkWhilePaused(root, store, ids, diffIds, hook, importing);
    } finally {
      hook.release();
      await importing.catch(() => undefined);
    }
  });

  async function checkWhilePaused(root: string, store: LayerStore, ids: string[], diffIds: string[], hook: { published: Promise<void>; release: () => void }, importing: Promise<{ chain: string }>): Promise<void> {
    await hook.published;
    // layer 0 and its blob are published, nothing references them yet: what gc would have taken
    expect(store.hasLayer(ids[0])).toBe(true);
    expect(fs.existsSync(store.paths.image('img'))).toBe(false);

    const impatient = spawnSync(CLI, ['--store', root, '--json', 'gc', '--layers', '--lock-timeout', '0'], { encoding: 'utf8' });
    expect(impatient.status).toBe(1);
    expect(JSON.parse(impatient.stdout).error).toMatchObject({ code: 'LAYERFS_BUSY', message: expect.stringContaining('the store is in use') });
    expect(store.hasLayer(ids[0])).toBe(true);

    const patient = spawn(CLI, ['--store', root, '--json', 'gc', '--layers', '--lock-timeout', '100'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    patient.stdout.on('data', (c) => (out += c));
    const exited = new Promise<number | null>((r) => patient.on('close', r));
    await new Promise<void>((resolve, reject) => {
      patient.stderr.on('data', (c) => {
        err += c;
        if (err.includes('waiting for it to finish')) resolve();
      });
      patient.on('close', () => reject(new Error(`gc ended before it waited: ${out} ${err}`)));
    });
    hook.release();
    const record = await importing;
    expect(record.chain).toBe(ids[2]);
    expect(await exited).toBe(0);
    const report = JSON.parse(out);
    expect(report.layers).toEqual([]);
    for (const d of diffIds) expect(report.blobs).not.toContain(d);
    for (const id of ids) expect(store.hasLayer(id)).toBe(true);
    for (const d of diffIds) expect(fs.existsSync(store.paths.blob(d))).toBe(true);
    expect((await store.fsck()).problems).toEqual([]);
    expect(sha(fs.readFileSync(store.paths.blob(diffIds[1])))).toBe(diffIds[1]);
  }

  test('rmi waits for a running commit-like shared hold, then removes', async () => {
    const root = path.join(work, 'store');
    const store = await LayerStore.open(root);
    fs.writeFileSync(path.join(work, 'l.tar'), rawTar([{ name: 'f', body: 'x' }]));
    const l = await store.importLayer(path.join(work, 'l.tar'));
    let release!: () => void;
    let inside!: () => void;
    const entered = new Promise<void>((r) => (inside = r));
    const holding = store.withLock('shared', async () => {
      inside();
      await new Promise<void>((r) => (release = r));
    });
    await entered;
    const rmi = spawnSync(CLI, ['--store', root, 'rmi', '--lock-timeout', '0.2', l.chainId], { encoding: 'utf8' });
    expect(rmi.status).toBe(1);
    expect(rmi.stderr).toMatch(/LAYERFS_BUSY|the store is in use/);
    expect(store.hasLayer(l.chainId)).toBe(true);
    release();
    await holding;
    await store.removeLayer(l.chainId);
    expect(store.hasLayer(l.chainId)).toBe(false);
  });
});
