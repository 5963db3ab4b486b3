import * as fs from 'fs';
import * as path from 'path';
import { spawn } from 'child_process';
import { describeIf, unmet } from '../fixtures/peers';
import { makeTempDir, removeTempDir } from '../fixtures/tmp';
import { skopeo } from '../image/image-forms';
import { registryUnmet, startRegistry, type RegistryServer } from './registry-server';
import { faultProxy, makeImage, openStore } from './store-registry';

/**
 * Faults on real sockets: a TCP proxy between the client and docker-registry cuts a blob's
 * answer in the middle, flips a byte of it, or slows it so a pull can be killed midway; the
 * registry is killed in the middle of a push; a second registry is a pull-through mirror.
 */

const why = [...registryUnmet(), ...unmet(['skopeo'])];
const plain = { tlsVerify: false };
const BIN = path.resolve(__dirname, '../../bin/layerfs');

describeIf(why.length === 0, why.join('; '))('pull and push faults', () => {
  let dir: string;
  let reg: RegistryServer;
  let img: Awaited<ReturnType<typeof makeImage>>;
  beforeAll(async () => {
    dir = makeTempDir('regfaults');
    reg = await startRegistry();
    img = await makeImage(dir);
    await img.store.importImage(img.layout, { name: 'src' });
    await img.store.push('src', `${reg.host}/app/src:v1`, plain);
  }, 120_000);
  afterAll(async () => {
    await reg?.stop();
    removeTempDir(dir);
  });

  /** What a failed or killed pull may leave: complete layers below the failure, never the image, the faulted layer or a temporary. */
  async function expectNothingPartial(storeDir: string): Promise<void> {
    const store = await openStore(storeDir);
    expect(await store.listImages()).toEqual([]);
    expect(store.hasLayer(img.chain)).toBe(false);
    expect(fs.existsSync(store.paths.blob(img.bigBlob.digest))).toBe(false);
    expect(fs.readdirSync(store.paths.tmpDir)).toEqual([]);
    expect((await store.fsck()).problems).toEqual([]);
  }

  test('a connection cut in the middle of a blob: the pull resumes with Range and completes', async () => {
    const proxy = await faultProxy(reg.host, { size: img.bigBlob.size, cutAt: img.bigBlob.size >> 1 });
    try {
      const store = await openStore(path.join(dir, 'cut'));
      const rec = await store.pull(`${proxy.host}/app/src:v1`, plain);
      expect(proxy.faulted()).toBe(true);
      // resumed where the cut left it, not read again from byte 0
      const from = proxy.ranges().map((r) => Number(/^bytes=(\d+)-$/.exec(r)?.[1] ?? -1));
      expect(from).toHaveLength(1);
      expect(from[0]).toBeGreaterThan(0);
      expect(from[0]).toBeLessThanOrEqual(img.bigBlob.size >> 1);
      expect(rec.chain).toBe(img.chain);
      expect((await store.fsck()).problems).toEqual([]);
    } finally {
      await proxy.close();
    }
  }, 120_000);

  test('a flipped byte: LAYERFS_DIGEST_MISMATCH, and nothing of that layer or the image stored', async () => {
    const proxy = await faultProxy(reg.host, { size: img.bigBlob.size, flipAt: 1000, once: false });
    try {
      const dirStore = path.join(dir, 'flip');
      const store = await openStore(dirStore);
      await expect(store.pull(`${proxy.host}/app/src:v1`, plain)).rejects.toMatchObject({ code: 'LAYERFS_DIGEST_MISMATCH' });
      expect(proxy.faulted()).toBe(true);
      await expectNothingPartial(dirStore);
    } finally {
      await proxy.close();
    }
  }, 120_000);

  test('kill -9 of a pull leaves nothing partial; the next pull resumes the blob it kept and completes', async () => {
    const proxy = await faultProxy(reg.host, { size: img.bigBlob.size, bytesPerSecond: 512 * 1024 });
    const storeDir = path.join(dir, 'killed');
    try {
      const child = spawn(BIN, ['--store', storeDir, 'pull', '--tls-verify=false', `${proxy.host}/app/src:v1`], { stdio: 'ignore' });
      // killed once the big blob is on its way: some of it is written in its staging (the input reaches the writer in 1 MiB batches)
      const deadline = Date.now() + 60_000;
      const tmp = path.join(storeDir, 'tmp');
      const bigStaging = (n: string) => fs.readFileSync(path.join(tmp, n, 'expect.json'), { encoding: 'utf8', flag: 'r' }).includes(img.bigBlob.digest);
      const written = () =>
        fs.existsSync(tmp) &&
        fs.readdirSync(tmp).some((n) => {
          try {
            return bigStaging(n) && fs.statSync(path.join(tmp, n, 'blob')).size > 0;
          } catch {
            return false;
          }
        });
      while (!written() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      const exited = new Promise<NodeJS.Signals | null>((r) => child.on('exit', (_code, signal) => r(signal)));
      child.kill('SIGKILL');
      // killed, not finished before
      expect(await exited).toBe('SIGKILL');
    } finally {
      await proxy.close();
    }
    await expectNothingPartial(storeDir);
    const store = await openStore(storeDir);
    // what came in before the kill is kept aside (not a blob, not a layer) for a resume
    const kept = fs.statSync(store.paths.download(img.bigBlob.digest)).size;
    expect(kept).toBeGreaterThan(0);
    const counting = await faultProxy(reg.host, { size: -1 });
    try {
      expect((await store.pull(`${counting.host}/app/src:v1`, plain)).chain).toBe(img.chain);
      // only the rest of the big blob came over the wire (plus the small layer, manifest and config)
      expect(counting.received()).toBeLessThan(img.bigBlob.size - kept + 64 * 1024);
    } finally {
      await counting.close();
    }
    // nothing kept any more (an empty downloads/ goes with the last blob lock)
    expect(fs.existsSync(store.paths.downloadsDir) ? fs.readdirSync(store.paths.downloadsDir) : []).toEqual([]);
    expect((await store.fsck()).problems).toEqual([]);
  }, 120_000);

  test('the registry killed in the middle of a push: a clear error; restarted, the next push completes', async () => {
    const store = await openStore(path.join(dir, 'push-kill'));
    await store.importImage(img.layout, { name: 'src' });
    const proxy = await faultProxy(reg.host, { size: -1, onSent: { bytes: 1 << 20, fn: () => reg.process.kill('SIGKILL') } });
    try {
      await expect(store.push('src', `${proxy.host}/app/killed:v1`, { ...plain, jobs: 1 })).rejects.toMatchObject({ code: expect.stringMatching(/^LAYERFS_REGISTRY_/), message: expect.stringContaining(proxy.host) });
      await reg.restart();
      const pushed = await store.push('src', `${proxy.host}/app/killed:v1`, plain);
      const inspect = JSON.parse(skopeo(dir, 'inspect', '--tls-verify=false', `docker://${reg.host}/app/killed:v1`));
      expect(inspect.Digest).toBe(pushed.manifestDigest);
    } finally {
      await proxy.close();
    }
  }, 180_000);

  test('a pull through a pull-through mirror (registries.conf) gives the same chain, and a second store is served by it', async () => {
    const mirror = await startRegistry({ proxy: { remoteurl: `http://${reg.host}` } });
    try {
      const conf = path.join(dir, 'registries.conf');
      fs.writeFileSync(conf, `[[registry]]\nlocation = "${reg.host}"\ninsecure = true\n\n[[registry.mirror]]\nlocation = "${mirror.host}"\ninsecure = true\n`);
      const env = { ...process.env, CONTAINERS_REGISTRIES_CONF: conf, LAYERFS_REGISTRIES_CONF_D: '' };
      const a = await openStore(path.join(dir, 'mirror-a'));
      const ra = await a.pull(`${reg.host}/app/src:v1`, { ...plain, env });
      expect(ra.from).toBe(`${mirror.host}/app/src`);
      expect(ra.chain).toBe(img.chain);
      // the mirror holds the blobs now: a second store's pull is served by the cache alone
      const b = await openStore(path.join(dir, 'mirror-b'));
      const rb = await b.pull(`${reg.host}/app/src:v1`, { ...plain, env });
      expect(rb.from).toBe(`${mirror.host}/app/src`);
      expect(rb.chain).toBe(img.chain);
      expect(fs.readdirSync(path.join(mirror.storageDir, 'docker', 'registry', 'v2', 'blobs', 'sha256')).length).toBeGreaterThan(0);
    } finally {
      await mirror.stop();
    }
  }, 180_000);
});
