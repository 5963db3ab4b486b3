import * as fs from 'fs';
import * as path from 'path';
import { spawn } from 'child_process';
import * as native from '../../lib/native';
import { LayerStore } from '../../lib/layer-store';
import { stagingName } from '../../lib/store/tmp';
import { canMount, cleanup, makeStack, mountedUnder, mountSkipNote, tempDir } from '../drivers/helpers';
import { layerfs } from '../cli/run-cli';

mountSkipNote('containers');
const itMount = canMount ? it : it.skip;
const DIST = path.resolve(__dirname, '../../dist/lib');

let work: string;
let storeDir: string;
let store: LayerStore;
let top: string;
beforeAll(async () => {
  work = tempDir('containers');
  storeDir = path.join(work, 'store');
  store = await LayerStore.open(storeDir);
  top = makeStack(store, 3);
});
afterAll(() => cleanup(work));

describe('containers', () => {
  it('are found by id, name or unique id prefix, and listed oldest first', async () => {
    const a = await store.createContainer(top, { driver: 'copy', name: 'alpha' });
    const b = await store.createContainer(null, { driver: 'copy' });
    expect(a.id).toMatch(/^[0-9a-f]{64}$/);
    expect(a.record).toMatchObject({ name: 'alpha', chain: top, driver: 'copy', state: 'created' });
    expect(JSON.parse(fs.readFileSync(store.paths.containerRecord(a.id), 'utf8'))).toEqual(a.record);
    expect((await store.getContainer(a.id)).id).toBe(a.id);
    expect((await store.getContainer('alpha')).id).toBe(a.id);
    expect((await store.getContainer(b.id.slice(0, 10))).id).toBe(b.id);
    const ids = (await store.listContainers()).map((c) => c.id);
    expect(ids.indexOf(a.id)).toBeLessThan(ids.indexOf(b.id));
    await expect(store.getContainer('nope')).rejects.toMatchObject({ code: 'LAYERFS_NOT_FOUND' });
    await expect(store.createContainer(top, { driver: 'copy', name: 'alpha' })).rejects.toMatchObject({ code: 'LAYERFS_INVALID_ARGUMENT', message: expect.stringContaining('alpha') });
    await expect(store.createContainer(top, { name: 'bad/name' })).rejects.toMatchObject({ code: 'LAYERFS_INVALID_ARGUMENT' });
    await expect(store.createContainer(top, { driver: 'zfs' as never })).rejects.toMatchObject({ code: 'LAYERFS_INVALID_ARGUMENT' });
    await expect(store.createContainer('sha256:' + 'c'.repeat(64))).rejects.toMatchObject({ code: 'LAYERFS_NOT_FOUND' });
    await a.remove();
    await b.remove();
    await expect(a.mount()).rejects.toMatchObject({ code: 'LAYERFS_NOT_FOUND' });
    expect(await store.listContainers()).toEqual([]);
    // failed creations left no staging behind
    expect(fs.readdirSync(store.paths.tmpDir)).toEqual([]);
  });

  itMount('auto picks overlay when this process can mount one', async () => {
    const c = await store.createContainer(top, {});
    expect(c.driver).toBe('overlay');
    expect(store.config.probes?.overlay).toMatchObject({ mountable: true });
    await c.remove();
  });

  itMount('two concurrent mounts of one container make one mount', async () => {
    const c = await store.createContainer(top, { driver: 'overlay' });
    const other = await store.getContainer(c.id);
    const [p1, p2] = await Promise.all([c.mount(), other.mount()]);
    expect(p1).toBe(p2);
    expect(mountedUnder(store.paths.container(c.id))).toEqual([p1]);
    await c.remove();
  });

  itMount('opening a store reconciles recorded mount state with mountinfo', async () => {
    const c = await store.createContainer(top, { driver: 'overlay' });
    const merged = await c.mount();
    expect(c.state).toBe('mounted');
    native.umount2Sync(merged);
    let reopened = await LayerStore.open(storeDir);
    expect((await reopened.getContainer(c.id)).state).toBe('unmounted');
    // mounted behind the record's back (by the container's own spec): recorded as mounted
    const [spec] = await c.mounts();
    native.mountSync(spec.source, spec.target!, spec.type, 0, spec.options.join(','));
    reopened = await LayerStore.open(storeDir);
    const again = await reopened.getContainer(c.id);
    expect(again.state).toBe('mounted');
    expect(again.isMounted()).toBe(true);
    await again.remove();
    expect(mountedUnder(storeDir)).toEqual([]);
  });

  itMount('a process killed with a container mounted: the reopened store reports it, and `layerfs rm` cleans it up', async () => {
    const script = path.join(work, 'crash.js');
    fs.writeFileSync(
      script,
      `const { LayerStore } = require(${JSON.stringify(path.join(DIST, 'layer-store.js'))});
      (async () => {
        const store = await LayerStore.open(process.argv[2]);
        const c = await store.createContainer(process.argv[3], { driver: 'overlay', name: 'crashed' });
        const p = await c.mount();
        require('fs').writeFileSync(p + '/written-before-the-crash', 'x');
        process.stdout.write(JSON.stringify({ id: c.id, path: p }) + '\\n');
        setInterval(() => {}, 1000);
      })().catch((e) => { console.error(e); process.exit(1); });`,
    );
    const child = spawn(process.execPath, [script, storeDir, top], { stdio: ['ignore', 'pipe', 'inherit'] });
    const line = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('\n')) resolve(out);
      });
      child.on('exit', (code) => reject(new Error(`the child exited (${code}) before mounting`)));
    });
    const { id, path: merged } = JSON.parse(line) as { id: string; path: string };
    const dead = new Promise((resolve) => child.on('exit', resolve));
    child.kill('SIGKILL');
    await dead;

    const reopened = await LayerStore.open(storeDir);
    const c = await reopened.getContainer('crashed');
    expect(c.id).toBe(id);
    expect(c.state).toBe('mounted');
    expect(c.isMounted()).toBe(true);
    expect(fs.existsSync(path.join(merged, 'written-before-the-crash'))).toBe(true);
    expect(layerfs(['--store', storeDir, '--json', 'ls']).json().containers).toEqual([expect.objectContaining({ id, name: 'crashed', state: 'mounted', mounted: true })]);
    const rm = layerfs(['--store', storeDir, 'rm', 'crashed']);
    expect([rm.code, rm.stderr]).toEqual([0, '']);
    expect(native.readMountInfo().filter((m) => m.mountPoint.startsWith(storeDir))).toEqual([]);
    expect(fs.existsSync(reopened.paths.container(id))).toBe(false);
    expect(await reopened.listContainers()).toEqual([]);
  });

  itMount('mounts a dead process left in its tmp/ staging are unmounted before the staging is reaped', async () => {
    // a staging name of a process that is gone
    const stale = path.join(store.paths.tmpDir, stagingName('overlay-probe').replace(/^\d+\.\d+\./, '4194303.1.'));
    const precious = tempDir('precious');
    try {
      fs.writeFileSync(path.join(precious, 'keep'), 'keep me');
      fs.mkdirSync(path.join(stale, 'merged'), { recursive: true });
      native.mountSync(precious, path.join(stale, 'merged'), null, native.constants.MS_BIND);
      await LayerStore.open(storeDir);
      expect(mountedUnder(store.paths.tmpDir)).toEqual([]);
      expect(fs.existsSync(stale)).toBe(false);
      expect(fs.readFileSync(path.join(precious, 'keep'), 'utf8')).toBe('keep me');
    } finally {
      cleanup(precious);
    }
  });
});
