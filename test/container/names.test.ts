import * as fs from 'fs';
import * as path from 'path';
import { spawn } from 'child_process';
import { LayerStore } from '../../lib/layer-store';
import { cleanup, makeStack, tempDir } from '../drivers/helpers';

/*
 * Container names are found through their index (container-names/<name>/<id>), not by reading
 * every record: what a name resolves to, what a dead claim or a store made before the index
 * gives, and two creations of one name at once.
 */

let work: string;
let storeDir: string;
let store: LayerStore;
let top: string;
beforeAll(async () => {
  work = tempDir('container-names');
  storeDir = path.join(work, 'store');
  store = await LayerStore.open(storeDir);
  top = makeStack(store, 1);
});
afterAll(() => cleanup(work));

const claims = (name: string) => fs.readdirSync(store.paths.containerNameClaims(name));

describe('container names', () => {
  test('a named container claims its name; removing it frees the name', async () => {
    const a = await store.createContainer(top, { driver: 'copy', name: 'web' });
    expect(claims('web')).toEqual([a.id]);
    expect((await store.getContainer('web')).id).toBe(a.id);
    await expect(store.createContainer(top, { driver: 'copy', name: 'web' })).rejects.toMatchObject({ code: 'LAYERFS_INVALID_ARGUMENT', message: expect.stringContaining('"web" exists already') });
    expect(claims('web')).toEqual([a.id]); // the refused one claimed nothing
    await a.remove();
    // the name's directory goes with its last claim (run --rm --name leaves nothing)
    expect(fs.existsSync(store.paths.containerNameClaims('web'))).toBe(false);
    await expect(store.getContainer('web')).rejects.toMatchObject({ code: 'LAYERFS_NOT_FOUND' });
    const b = await store.createContainer(top, { driver: 'copy', name: 'web' });
    expect((await store.getContainer('web')).id).toBe(b.id);
    await b.remove();
    expect(fs.readdirSync(store.paths.containerNamesDir)).not.toContain('web');
  });

  test('one name taken and given back over and over by several processes: each create gets it or is refused, never an error of a directory gone under it; nothing is left', async () => {
    const script = `
      const { LayerStore } = require(${JSON.stringify(path.resolve(__dirname, '../../dist/lib/layer-store'))});
      (async () => {
        const store = await LayerStore.open(process.argv[1]);
        const out = { made: 0, refused: 0, other: [] };
        for (let i = 0; i < 25; i++) {
          try {
            const c = await store.createContainer(process.argv[2], { driver: 'copy', name: 'churn' });
            out.made++;
            await c.remove();
          } catch (e) {
            if (e.code === 'LAYERFS_INVALID_ARGUMENT') out.refused++;
            else out.other.push(e.code + ' ' + e.message);
          }
        }
        console.log(JSON.stringify(out));
      })();`;
    const runs = await Promise.all(
      [1, 2, 3].map(
        () =>
          new Promise<{ made: number; refused: number; other: string[] }>((resolve, reject) => {
            const child = spawn(process.execPath, ['-e', script, storeDir, top], { stdio: ['ignore', 'pipe', 'inherit'] });
            let stdout = '';
            child.stdout.on('data', (b) => (stdout += b));
            child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(stdout)) : reject(new Error(`exit ${code}: ${stdout}`))));
          }),
      ),
    );
    for (const r of runs) expect(r.other).toEqual([]);
    expect(runs.reduce((n, r) => n + r.made, 0)).toBeGreaterThan(0);
    expect(fs.readdirSync(store.paths.containerNamesDir)).not.toContain('churn');
    expect((await store.listContainers()).filter((c) => c.name === 'churn')).toEqual([]);
  });

  test('a claim whose container is gone (a removal killed midway) is ignored and dropped', async () => {
    const a = await store.createContainer(top, { driver: 'copy', name: 'dead' });
    fs.rmSync(store.paths.container(a.id), { recursive: true });
    await expect(store.getContainer('dead')).rejects.toMatchObject({ code: 'LAYERFS_NOT_FOUND' });
    expect(claims('dead')).toEqual([]);
    const b = await store.createContainer(top, { driver: 'copy', name: 'dead' });
    expect((await store.getContainer('dead')).id).toBe(b.id);
    await b.remove();
  });

  test('a name is no path: names the index cannot hold are never looked up in it', async () => {
    await expect(store.getContainer('../containers')).rejects.toMatchObject({ code: 'LAYERFS_NOT_FOUND' });
    await expect(store.getContainer('.')).rejects.toMatchObject({ code: 'LAYERFS_NOT_FOUND' });
  });

  test('a store made before the index: the first use builds it from the records', async () => {
    const a = await store.createContainer(top, { driver: 'copy', name: 'old-a' });
    const b = await store.createContainer(top, { driver: 'copy', name: 'old-b' });
    const unnamed = await store.createContainer(top, { driver: 'copy' });
    fs.rmSync(store.paths.containerNamesDir, { recursive: true });
    const reopened = await LayerStore.open(storeDir);
    expect((await reopened.getContainer('old-b')).id).toBe(b.id);
    expect(fs.readdirSync(reopened.paths.containerNamesDir).sort()).toEqual(['old-a', 'old-b']);
    expect(claims('old-a')).toEqual([a.id]);
    await expect(reopened.createContainer(top, { driver: 'copy', name: 'old-a' })).rejects.toMatchObject({ code: 'LAYERFS_INVALID_ARGUMENT' });
    // nothing of the build is left in tmp/
    expect(fs.readdirSync(reopened.paths.tmpDir)).toEqual([]);
    for (const c of [a, b, unnamed]) await c.remove();
  });

  test('one name given to several containers at once: exactly one keeps it', async () => {
    const results = await Promise.allSettled([1, 2, 3, 4].map(() => store.createContainer(top, { driver: 'copy', name: 'race' })));
    const made = results.filter((r): r is PromiseFulfilledResult<Awaited<ReturnType<LayerStore['createContainer']>>> => r.status === 'fulfilled').map((r) => r.value);
    expect(made).toHaveLength(1);
    for (const r of results) if (r.status === 'rejected') expect(r.reason).toMatchObject({ code: 'LAYERFS_INVALID_ARGUMENT' });
    expect((await store.getContainer('race')).id).toBe(made[0].id);
    expect(claims('race')).toEqual([made[0].id]);
    expect((await store.listContainers()).filter((c) => c.name === 'race')).toHaveLength(1);
    await made[0].remove();
  });
});
