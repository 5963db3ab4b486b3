/**
 * Commit of a container that a process in it keeps changing (issue 12, "Commit writes outside its
 * layer when the container changes meanwhile"): a directory swapped for a symlink to a host
 * directory or to another layer's diff/ must never be written or read through. Victims are
 * snapshotted before and after; fsck must stay clean. Also: sparse files keep their holes, and a
 * commit of a layer the store has returns what the store holds.
 */
import * as fs from 'fs';
import * as path from 'path';
import { spawn } from 'child_process';
import { LayerStore } from '../../lib/layer-store';
import { commitTestHooks } from '../../lib/container/commit';
import { buildLayerDirSync } from '../../lib/container/commit-layer-dir';
import { applyLayer } from '../../lib/tar/apply-in-worker';
import type { DriverName } from '../../lib/container/types';
import type { WhiteoutFormatName } from '../../lib/store/types';
import type { PackEntry } from '../../lib/tar/types';
import { diffSnapshots, snapshotTree, writeSparse } from '../fixtures/tree';
import { makeTempDir } from '../fixtures/tmp';
import { rawTar } from '../tar/hostile';
import { listTar } from './tar-listing';
import { hasAddon, isRoot, removeWork } from '../diff/scripted';
import { itIf } from '../fixtures/peers';

const canOverlay = isRoot && hasAddon;
if (!canOverlay) console.warn('commit-race: the overlay driver cases are skipped: mounting needs root and the native addon');
const drivers: Array<[DriverName, jest.Describe]> = [
  ['overlay', canOverlay ? describe : describe.skip],
  ['copy', describe],
];
const formats: WhiteoutFormatName[] = hasAddon ? ['oci', 'overlay'] : ['oci'];

let work: string;
let store: LayerStore;
let chain: string;
let bottom: string;
let victimHost: string;

/** Every tree a commit must leave alone: the host directory and every layer of the store. */
function victims(): Record<string, string[]> {
  const out: Record<string, string[]> = { host: snapshotTree(victimHost).map((r) => JSON.stringify(r)) };
  for (const hex of fs.readdirSync(store.paths.layersDir)) out[hex] = snapshotTree(path.join(store.paths.layersDir, hex)).map((r) => JSON.stringify(r));
  return out;
}

function expectUnchanged(before: Record<string, string[]>): void {
  const after = victims();
  for (const k of Object.keys(before)) {
    expect(after[k] !== undefined ? diffSnapshots(before[k].map((r) => JSON.parse(r)), after[k].map((r) => JSON.parse(r))) : ['gone']).toEqual([]);
  }
}

beforeAll(async () => {
  work = makeTempDir('commit-race');
  victimHost = path.join(work, 'host');
  fs.mkdirSync(path.join(victimHost, 'sub'), { recursive: true });
  fs.writeFileSync(path.join(victimHost, 'old'), 'host file');
  fs.writeFileSync(path.join(victimHost, 'sub', 'x'), 'host file');
  store = await LayerStore.open(path.join(work, 'store'));
  const tar0 = path.join(work, 'l0.tar');
  fs.writeFileSync(
    tar0,
    rawTar([
      { name: 'd/', type: '5', mode: 0o755 },
      { name: 'd/aaa', body: 'first in d' },
      { name: 'd/old', body: 'old' },
      { name: 'd/keep', body: 'keep' },
      { name: 'd/sub/', type: '5', mode: 0o755 },
      { name: 'd/sub/x', body: 'x' },
      { name: 'old', body: 'top-level' },
    ]),
  );
  const l0 = await store.importLayer(tar0);
  bottom = l0.chainId;
  const tar1 = path.join(work, 'l1.tar');
  fs.writeFileSync(tar1, rawTar([{ name: 'other/', type: '5', mode: 0o755 }, { name: 'other/f', body: 'f' }]));
  chain = (await store.importLayer(tar1, { parent: bottom })).chainId;
});
afterAll(() => removeWork(work));

afterEach(() => {
  commitTestHooks.afterDiff = undefined;
});

describe.each(drivers)('commit of a %s container that changes meanwhile', (driver, describeIf) => {
  describeIf('deterministic: a directory swapped for a symlink between the diff and the layer build', () => {
    const targets: Array<[string, () => string]> = [
      ['a host directory', () => victimHost],
      ["another layer's diff directory", () => store.paths.layerDiff(bottom)],
    ];
    // only deletions: the layer gets d as the symlink it now is, and then its whiteouts, which
    // need nothing read (before the fix they were written through that symlink, and the commit
    // succeeded); or deletions, a new file and a recreated directory (opaque)
    const changeSets: Array<[string, (root: string) => void]> = [
      ['whiteouts', (root) => ['d/aaa', 'd/old'].forEach((p) => fs.rmSync(path.join(root, p)))],
      [
        'whiteouts, a file and an opaque directory',
        (root) => {
          fs.rmSync(path.join(root, 'd/aaa'));
          fs.writeFileSync(path.join(root, 'd/new'), 'new');
          fs.rmSync(path.join(root, 'd/sub'), { recursive: true });
          fs.mkdirSync(path.join(root, 'd/sub'));
          fs.writeFileSync(path.join(root, 'd/sub/y'), 'y');
        },
      ],
    ];
    const cases = targets.flatMap(([t, target]) => changeSets.map(([c, change]) => [t, c, target, change] as const));
    test.each(cases)('to %s, with %s under it: the commit fails with LAYERFS_CHANGED_MEANWHILE and nothing outside its staging changes', async (_what, _changes, target, change) => {
      const c = await store.createContainer(chain, { driver });
      const root = await c.mount();
      change(root);
      const before = victims();
      let swapped = false;
      commitTestHooks.afterDiff = () => {
        fs.rmSync(path.join(root, 'd'), { recursive: true });
        fs.symlinkSync(target(), path.join(root, 'd'));
        swapped = true;
      };
      const err = await c.commit({ compression: 'none' }).catch((e: Error) => e);
      commitTestHooks.afterDiff = undefined;
      expect(swapped).toBe(true);
      expectUnchanged(before);
      expect(err).toMatchObject({ code: 'LAYERFS_CHANGED_MEANWHILE' });
      expect((err as Error).message).toContain(`container ${c.id} changed meanwhile at "d`);
      expect(fs.readdirSync(store.paths.tmpDir)).toEqual([]);
      expect((await store.fsck()).problems).toEqual([]);
      // the container back to a plain tree: it commits
      fs.unlinkSync(path.join(root, 'd'));
      fs.mkdirSync(path.join(root, 'd'));
      fs.writeFileSync(path.join(root, 'd/new'), 'new');
      const ref = await c.commit({ compression: 'none' });
      expect(fs.readFileSync(path.join(store.paths.layerDiff(ref.chainId), 'd/new'), 'utf8')).toBe('new');
      await c.remove();
    });
  });

  describeIf('the container lock', () => {
    const withLock = itIf(['addon']);
    withLock('a remove asked for during a commit waits for it; two commits at once give one layer', async () => {
      const c = await store.createContainer(chain, { driver });
      fs.writeFileSync(path.join(await c.mount(), 'locked'), 'l');
      const order: string[] = [];
      let removing: Promise<void> | undefined;
      commitTestHooks.afterDiff = async () => {
        commitTestHooks.afterDiff = undefined;
        removing = (await store.getContainer(c.id)).remove().then(() => void order.push('removed'));
        // a chance for the remove to run, were it not locked out (no assertion on time)
        await new Promise((resolve) => setTimeout(resolve, 300));
        order.push('diffed');
      };
      const ref = await c.commit({ compression: 'none' });
      order.push('committed');
      await removing;
      expect(order).toEqual(['diffed', 'committed', 'removed']);
      expect(fs.readFileSync(path.join(store.paths.layerDiff(ref.chainId), 'locked'), 'utf8')).toBe('l');
      expect(fs.existsSync(store.paths.container(c.id))).toBe(false);

      const d = await store.createContainer(chain, { driver });
      fs.writeFileSync(path.join(await d.mount(), 'twice'), 't');
      const [a, b] = await Promise.all([d.commit({ compression: 'none' }), d.commit({ compression: 'gzip' })]);
      expect(b).toEqual(a);
      await d.remove();
    });
  });

  describeIf('racing: a process flips a directory and a symlink while commits run', () => {
    test('every commit either fails with LAYERFS_CHANGED_MEANWHILE or gives a layer whose directory is its tarball; no victim changes', async () => {
      const c = await store.createContainer(chain, { driver });
      const root = await c.mount();
      const dir = path.join(root, 'r');
      fs.mkdirSync(path.join(dir, 'sub'), { recursive: true });
      for (let i = 0; i < 20; i++) fs.writeFileSync(path.join(dir, `f${i}`), `file ${i}`);
      fs.writeFileSync(path.join(dir, 'sub/g'), 'g');
      fs.rmSync(path.join(root, 'd/old'));
      const before = victims();
      const stop = path.join(work, `stop-${driver}`);
      // bounded: at most 200000 flips or 20 s, and it ends with the directory in place
      const flipper = `
        const fs = require('fs');
        const [dir, stop, ...targets] = process.argv.slice(1);
        const t0 = Date.now();
        let n = 0;
        for (; n < 200000 && Date.now() - t0 < 20000 && !fs.existsSync(stop); n++) {
          fs.renameSync(dir, dir + '.real');
          fs.symlinkSync(targets[n % targets.length], dir);
          fs.unlinkSync(dir);
          fs.renameSync(dir + '.real', dir);
          if (n === 0) fs.writeFileSync(stop + '.flipping', '');
        }
        console.log(n);`;
      const child = spawn(process.execPath, ['-e', flipper, dir, stop, victimHost, store.paths.layerDiff(bottom)], { stdio: ['ignore', 'pipe', 'inherit'] });
      let flips = '';
      child.stdout.on('data', (b) => (flips += b));
      const ended = new Promise<number | null>((resolve) => child.on('exit', resolve));
      // the commits start once the flipper flips: a Node start on a loaded machine can outlast all
      // six commits, and the race would then not be run at all
      while (!fs.existsSync(stop + '.flipping') && child.exitCode === null) await new Promise((r) => setTimeout(r, 5));
      const refs = [];
      const failures: string[] = [];
      try {
        for (let i = 0; i < 6; i++) {
          try {
            refs.push(await c.commit({ compression: 'none' }));
          } catch (e) {
            failures.push((e as { code?: string }).code ?? String(e));
          }
        }
      } finally {
        fs.writeFileSync(stop, '');
        expect(await ended).toBe(0);
      }
      expect(Number(flips)).toBeGreaterThan(0);
      // a flip caught by the diff's own walk may fail it with the walk's error: a path gone since its listing
      for (const f of failures) expect(['LAYERFS_CHANGED_MEANWHILE', 'ENOENT', 'ENOTDIR']).toContain(f);
      // once the flipping has stopped, a commit must succeed (else the checks below would run over nothing)
      refs.push(await c.commit({ compression: 'none' }));
      expectUnchanged(before);
      expect((await store.fsck()).problems).toEqual([]);
      // what committed is consistent: its directory is what its tarball holds
      for (const ref of refs) {
        const applied = path.join(work, `applied-${driver}-${ref.chainId.slice(7, 19)}`);
        if (fs.existsSync(applied)) continue;
        fs.mkdirSync(applied);
        await applyLayer(store.paths.blob(ref.digest), applied, { whiteout: store.whiteout });
        expect(diffSnapshots(snapshotTree(store.paths.layerDiff(ref.chainId), { ignore: (p) => p === '/' }), snapshotTree(applied, { ignore: (p) => p === '/' }))).toEqual([]);
      }
      await c.remove();
    }, 120_000);
  });

  describeIf('a directory the container itself replaced by a symlink to a host directory (no race)', () => {
    test('diff, commit and a copy container made on the layer take the symlink as one entry: nothing behind it is read, listed or written', async () => {
      const c = await store.createContainer(chain, { driver });
      const root = await c.mount();
      fs.rmSync(path.join(root, 'd'), { recursive: true });
      fs.symlinkSync(victimHost, path.join(root, 'd'));
      const before = victims();
      // the walk of the changes (the copy driver's manifest walk, the overlay upperdir walk) does not go through d
      const changes = await c.diff();
      expect(changes.filter((ch) => ch.path === '/d' || ch.path.startsWith('/d/')).map((ch) => [ch.kind, ch.path, ch.type])).toEqual([['C', '/d', 'symlink']]);
      const ref = await c.commit({ compression: 'none' });
      expectUnchanged(before);
      const listed = (await listTar(store.paths.blob(ref.digest))).filter((e) => e.name === 'd' || e.name.startsWith('d/'));
      expect(listed.map((e) => [e.name, e.type, e.linkname])).toEqual([['d', 'symlink', victimHost]]);
      const inLayer = path.join(store.paths.layerDiff(ref.chainId), 'd');
      expect([fs.lstatSync(inLayer).isSymbolicLink(), fs.readlinkSync(inLayer)]).toEqual([true, victimHost]);
      expect((await store.fsck()).problems).toEqual([]);
      // the copy driver's materialise makes d the symlink it is, and nothing under it
      const copy = await store.createContainer(ref.chainId, { driver: 'copy' });
      const copied = path.join(await copy.mount(), 'd');
      expect([fs.lstatSync(copied).isSymbolicLink(), fs.readlinkSync(copied)]).toEqual([true, victimHost]);
      expectUnchanged(before);
      // and its own diff against the layer it was made of is empty: the walk does not go through d either
      expect(await copy.diff()).toEqual([]);
      await copy.remove();
      await c.remove();
      expectUnchanged(before);
    });
  });

  describeIf('sparse files', () => {
    test('a 64 MiB file with 4 KiB of data keeps its holes through commit into the layer directory, and through a copy container made on that layer', async () => {
      const c = await store.createContainer(chain, { driver });
      const root = await c.mount();
      const file = path.join(root, 'sparse');
      const data = Buffer.alloc(4096, 0x5a);
      writeSparse(file, 64 << 20, 32 << 20, data);
      const allocated = (p: string) => fs.statSync(p).blocks * 512;
      expect(allocated(file)).toBeLessThan(1 << 20);
      const ref = await c.commit({ compression: 'gzip' });
      const inLayer = path.join(store.paths.layerDiff(ref.chainId), 'sparse');
      expect(fs.statSync(inLayer).size).toBe(64 << 20);
      expect(allocated(inLayer)).toBeLessThan(1 << 20);
      const copy = await store.createContainer(ref.chainId, { driver: 'copy' });
      const copied = path.join(await copy.mount(), 'sparse');
      expect(fs.statSync(copied).size).toBe(64 << 20);
      expect(allocated(copied)).toBeLessThan(1 << 20);
      const back = Buffer.alloc(4096);
      const rfd = fs.openSync(copied, 'r');
      fs.readSync(rfd, back, 0, 4096, 32 << 20);
      fs.closeSync(rfd);
      expect(back.equals(data)).toBe(true);
      await copy.remove();
      await c.remove();
    }, 60_000);
  });
});

describe.each(formats)('the layer directory build (%s whiteouts)', (fmt) => {
  /** A container tree whose `d` is a symlink to the host victim; once `d` is written to the layer, it becomes a real directory again. */
  function setUp(name: string): { from: string; dest: string; onEntry: (rel: unknown) => void } {
    const from = path.join(work, `${name}-${fmt}-container`);
    const dest = path.join(work, `${name}-${fmt}-layer`);
    fs.mkdirSync(from);
    fs.mkdirSync(dest);
    fs.symlinkSync(victimHost, path.join(from, 'd'));
    const onEntry = (rel: unknown) => {
      if (String(rel) !== 'd') return;
      fs.unlinkSync(path.join(from, 'd'));
      fs.mkdirSync(path.join(from, 'd'));
      fs.writeFileSync(path.join(from, 'd/new'), 'new');
      fs.mkdirSync(path.join(from, 'd/sub'));
    };
    return { from, dest, onEntry };
  }

  const cases: Array<[string, PackEntry[]]> = [
    ['a whiteout', [{ path: 'd' }, { path: 'd/a', whiteout: true }]],
    ['a file', [{ path: 'd' }, { path: 'd/new' }]],
    ['a directory marked opaque', [{ path: 'd' }, { path: 'd/sub', opaque: true }]],
  ];
  test.each(cases)('never writes %s through the symlink the layer was just given', (what, entries) => {
    const { from, dest, onEntry } = setUp(what.replace(/ /g, '-'));
    const before = victims();
    expect(() => buildLayerDirSync(entries, dest, fmt, { from, what: 'container t', onEntry })).toThrow(expect.objectContaining({ code: 'LAYERFS_CHANGED_MEANWHILE' }));
    expectUnchanged(before);
    expect(fs.readdirSync(victimHost).sort()).toEqual(['old', 'sub']);
    expect(fs.lstatSync(path.join(dest, 'd')).isSymbolicLink()).toBe(true);
  });

  test('reads no file through a symlinked directory of the container', () => {
    const { from, dest } = setUp('read');
    const before = victims();
    // the layer got `d` (a symlink, as the container has it); `d/old` is then read through nothing
    expect(() => buildLayerDirSync([{ path: 'd' }, { path: 'd/old' }], dest, fmt, { from, what: 'container t' })).toThrow(expect.objectContaining({ code: 'LAYERFS_CHANGED_MEANWHILE', message: expect.stringContaining('container t changed meanwhile at "d/old": "d" is a symlink where a directory was') }));
    expect(fs.readlinkSync(path.join(dest, 'd'))).toBe(victimHost);
    expectUnchanged(before);
  });
});

describe('without the native addon (pure JS: copy driver, oci whiteouts)', () => {
  test('a directory swapped for a symlink between the diff and the layer build fails the commit; the victim is untouched', async () => {
    const dist = path.resolve(__dirname, '../../dist/lib');
    const tar = path.join(work, 'plain-l0.tar');
    fs.writeFileSync(tar, rawTar([{ name: 'd/', type: '5', mode: 0o755 }, { name: 'd/old', body: 'old' }, { name: 'd/keep', body: 'keep' }]));
    const script = `
      const fs = require('fs');
      const path = require('path');
      const [dist, work, tar, victim] = process.argv.slice(1);
      const native = require(dist + '/native');
      const { LayerStore } = require(dist + '/layer-store');
      const { commitTestHooks } = require(dist + '/container/commit');
      (async () => {
        const store = await LayerStore.open(path.join(work, 'store-no-addon'), { whiteout: 'oci' });
        const chain = (await store.importLayer(tar)).chainId;
        const c = await store.createContainer(chain, { driver: 'copy' });
        const root = await c.mount();
        fs.writeFileSync(path.join(root, 'd/new'), 'new');
        fs.rmSync(path.join(root, 'd/old'));
        commitTestHooks.afterDiff = () => {
          fs.rmSync(path.join(root, 'd'), { recursive: true });
          fs.symlinkSync(victim, path.join(root, 'd'));
        };
        const failed = await c.commit({ compression: 'none' }).then(() => null, (e) => e.code);
        commitTestHooks.afterDiff = undefined;
        fs.unlinkSync(path.join(root, 'd'));
        fs.mkdirSync(path.join(root, 'd'));
        fs.writeFileSync(path.join(root, 'd/new'), 'new');
        const ref = await c.commit({ compression: 'none' });
        const layer = store.paths.layerDiff(ref.chainId);
        console.log(JSON.stringify({ addon: native.available(), failed, layer: fs.readdirSync(path.join(layer, 'd')).sort(), problems: (await store.fsck()).problems }));
        await c.remove();
      })().catch((e) => { console.error(e); process.exit(1); });`;
    const before = victims();
    const child = spawn(process.execPath, ['-e', script, dist, work, tar, victimHost], { env: { ...process.env, LAYERFS_DISABLE_ADDON: '1' }, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (b) => (out += b));
    expect(await new Promise((resolve) => child.on('exit', resolve))).toBe(0);
    expect(JSON.parse(out)).toEqual({ addon: false, failed: 'LAYERFS_CHANGED_MEANWHILE', layer: ['.wh..wh..opq', 'new'], problems: [] });
    expectUnchanged(before);
  }, 60_000);
});
