import * as path from 'path';
import { LayerStore } from '../../lib/layer-store';
import { describeIf } from '../fixtures/peers';
import { useTempDir } from '../fixtures/tmp';
import { layerfsAsync } from '../cli/run-cli';
import { fileImage, HandLayout } from '../image/image-forms';
import { FakeRegistry, serveLayout } from './fake-registry';

/**
 * Issue 19, "Never replace a record without being asked", for pull: a pull moves the record its
 * own reference made (the tag names another image now), and never one made any other way (an
 * import, a tag, a pull of another reference) unless --replace.
 */
describeIf(['tar'])('pull and image records', () => {
  const tmp = useTempDir('pull-records');
  const plain = { tlsVerify: false };
  let fake: FakeRegistry;
  beforeAll(async () => {
    fake = await FakeRegistry.start();
  });
  afterAll(() => fake?.close());

  let n = 0;
  /** A layout of one image of `files`, served as `repo:tag`. */
  const served = (repo: string, tag: string, files: Record<string, string>) => {
    const l = new HandLayout(path.join(tmp(), `layout-${n++}`));
    const img = fileImage(l, files);
    serveLayout(fake, l.dir, repo, tag);
    return { dir: l.dir, ...img };
  };

  test('a name another image holds: LAYERFS_EXISTS before any layer is read, the record and its layers kept; replace when asked', async () => {
    const store = await LayerStore.open(path.join(tmp(), 'store-a'));
    const local = new HandLayout(path.join(tmp(), 'local'));
    const mine = fileImage(local, { mine: 'm' }, 'latest');
    const kept = await store.importImage(local.dir, { name: 'app' });
    const remote = served('r/app', 'v1', { remote: 'r' });
    const e = await store.pull(`${fake.host}/r/app:v1`, { ...plain, name: 'app' }).catch((x) => x);
    expect(e).toMatchObject({ code: 'LAYERFS_EXISTS', message: expect.stringContaining('"app"') });
    expect(store.hasLayer(remote.diffId)).toBe(false);
    expect(await store.getImage('app')).toEqual(kept);
    await store.gc({ layers: true });
    expect(store.hasLayer(mine.diffId)).toBe(true);
    // the default name is the reference: an image imported under it is not the tag's own record either
    await store.importImage(local.dir, { name: `${fake.host}/r/app:v1` });
    await expect(store.pull(`${fake.host}/r/app:v1`, plain)).rejects.toMatchObject({ code: 'LAYERFS_EXISTS' });
    const replaced = await store.pull(`${fake.host}/r/app:v1`, { ...plain, name: 'app', replace: true });
    expect(replaced.manifestDigest).toBe(remote.digest);
    expect((await store.getImage('app')).manifestDigest).toBe(remote.digest);
  });

  test('pulling a tag again moves its own record to what the tag names now', async () => {
    const store = await LayerStore.open(path.join(tmp(), 'store-b'));
    const one = served('r/moving', 'latest', { one: '1' });
    const first = await store.pull(`${fake.host}/r/moving:latest`, plain);
    expect(first).toMatchObject({ name: `${fake.host}/r/moving:latest`, manifestDigest: one.digest });
    const two = served('r/moving', 'latest', { two: '2' });
    const second = await store.pull(`${fake.host}/r/moving:latest`, plain);
    expect(second.manifestDigest).toBe(two.digest);
    expect((await store.listImages()).map((i) => [i.name, i.manifestDigest])).toEqual([[`${fake.host}/r/moving:latest`, two.digest]]);
    // and under a --name it made itself, too
    await store.pull(`${fake.host}/r/moving:latest`, { ...plain, name: 'mv' });
    const three = served('r/moving', 'latest', { three: '3' });
    expect((await store.pull(`${fake.host}/r/moving:latest`, { ...plain, name: 'mv' })).manifestDigest).toBe(three.digest);
  });

  test('the CLI: pull --name of another image exits 1 with LAYERFS_EXISTS; --replace replaces it', async () => {
    const s = path.join(tmp(), 'cli-store');
    const local = new HandLayout(path.join(tmp(), 'cli-local'));
    fileImage(local, { mine: 'm' }, 'latest');
    const run = (...a: string[]) => layerfsAsync(['--store', s, '--json', ...a]);
    expect((await run('image', 'import', local.dir, '--name', 'app')).code).toBe(0);
    const remote = served('r/cli', 'v1', { remote: 'r' });
    const clash = await run('pull', `${fake.host}/r/cli:v1`, '--tls-verify=false', '--name', 'app');
    expect(clash.code).toBe(1);
    expect(clash.json().error).toMatchObject({ code: 'LAYERFS_EXISTS' });
    const ok = await run('pull', `${fake.host}/r/cli:v1`, '--tls-verify=false', '--name', 'app', '--replace');
    expect({ code: ok.code, stderr: ok.stderr }).toEqual({ code: 0, stderr: '' });
    expect(ok.json().manifestDigest).toBe(remote.digest);
  });
});
