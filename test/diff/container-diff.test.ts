import * as fs from 'fs';
import * as path from 'path';
import { execFileSync } from 'child_process';
import { createHash } from 'crypto';
import * as native from '../../lib/native';
import { LayerStore } from '../../lib/layer-store';
import type { DriverName } from '../../lib/container/types';
import { diffTrees } from '../../lib/diff';
import { packToFile } from '../../lib/tar/pack-layer';
import { canMount, cleanup, makeLayer, tempDir } from '../drivers/helpers';
import { snapshotDir, snapshotView, sameTree } from '../drivers/tree-compare';

const isRoot = process.getuid?.() === 0;
const drivers: DriverName[] = canMount ? ['overlay', 'copy'] : ['copy'];
if (!canMount) console.warn('diff/commit tests: the overlay driver is skipped (mounting needs root and the native addon)');
const T0 = new Date('2021-05-06T07:08:09Z');

function base(store: LayerStore): string {
  return makeLayer(store, null, (d) => {
    const w = (p: string, c: string, mode = 0o644) => {
      fs.mkdirSync(path.dirname(path.join(d, p)), { recursive: true });
      fs.writeFileSync(path.join(d, p), c);
      fs.chmodSync(path.join(d, p), mode);
    };
    w('etc/hosts', '127.0.0.1 localhost\n');
    w('etc/motd', 'welcome\n');
    w('etc/gone', 'delete me\n');
    w('var/log/a.log', 'a\n');
    w('var/log/b.log', 'b\n');
    w('recreate/old', 'old\n');
    w('recreate/kept-name', 'old content\n');
    w('chmod-me', 'x\n');
    w('chown-me', 'x\n');
    w('to-dir', 'file\n');
    w('from-dir/inner', 'inner\n');
    w('untouched', 'same\n');
    w('moved', 'move me and back\n');
    w('xattr-me', 'x\n');
    fs.symlinkSync('etc/hosts', path.join(d, 'link'));
    for (const p of execFileSync('find', [d, '-depth']).toString().trim().split('\n')) fs.lutimesSync(p, T0, T0);
  });
}

/** The scripted change; returns what `docker diff` should print for it. */
function script(root: string): string[] {
  const p = (x: string) => path.join(root, x);
  fs.writeFileSync(p('new-file'), 'new\n');
  fs.mkdirSync(p('new-dir/sub'), { recursive: true });
  fs.writeFileSync(p('new-dir/sub/f'), 'f\n');
  fs.appendFileSync(p('etc/motd'), 'appended\n');
  fs.rmSync(p('etc/gone'));
  fs.rmSync(p('var/log'), { recursive: true });
  fs.rmSync(p('recreate'), { recursive: true });
  fs.mkdirSync(p('recreate'));
  fs.writeFileSync(p('recreate/kept-name'), 'new content\n');
  fs.writeFileSync(p('recreate/fresh'), 'fresh\n');
  fs.chmodSync(p('chmod-me'), 0o600);
  const expected = [
    'A /new-dir', 'A /new-dir/sub', 'A /new-dir/sub/f', 'A /new-file', 'C /etc/motd', 'D /etc/gone', 'D /var/log',
    'C /recreate', 'A /recreate/fresh', 'C /recreate/kept-name', 'D /recreate/old', 'C /chmod-me',
    'A /hard', 'C /link', 'C /to-dir', 'A /to-dir/x', 'C /from-dir', 'C /xattr-me',
  ];
  if (isRoot) {
    fs.chownSync(p('chown-me'), 1000, 1000);
    expected.push('C /chown-me');
  }
  fs.linkSync(p('new-file'), p('hard'));
  fs.unlinkSync(p('link'));
  fs.symlinkSync('etc/motd', p('link'));
  fs.rmSync(p('to-dir'));
  fs.mkdirSync(p('to-dir'));
  fs.writeFileSync(p('to-dir/x'), 'x\n');
  fs.rmSync(p('from-dir'), { recursive: true });
  fs.writeFileSync(p('from-dir'), 'now a file\n');
  native.lsetxattrSync(p('xattr-me'), 'user.flag', 'on');
  // copy-ups that change nothing
  fs.renameSync(p('moved'), p('moved.tmp'));
  fs.renameSync(p('moved.tmp'), p('moved'));
  fs.closeSync(fs.openSync(p('untouched'), 'r+'));
  return expected.sort();
}

const lines = (changes: { kind: string; path: string }[]) => changes.map((c) => `${c.kind} ${c.path}`).sort();

describe.each(drivers)('diff and commit (%s driver)', (driver) => {
  let work: string;
  let store: LayerStore;
  beforeEach(async () => {
    work = tempDir('layerfs-diff-');
    store = await LayerStore.open(path.join(work, 'store'));
  });
  afterEach(async () => {
    for (const c of await store.listContainers()) await c.remove();
    cleanup(work);
  });

  test('a container with no changes, or only unchanged copy-ups, has an empty diff', async () => {
    const c = await store.createContainer(base(store), { driver });
    const root = await c.mount();
    expect(await c.diff()).toEqual([]);
    fs.renameSync(path.join(root, 'moved'), path.join(root, 'm2'));
    fs.renameSync(path.join(root, 'm2'), path.join(root, 'moved'));
    fs.closeSync(fs.openSync(path.join(root, 'untouched'), 'r+'));
    expect(await c.diff()).toEqual([]);
  });

  test('the scripted change is reported exactly, sorted by path', async () => {
    const c = await store.createContainer(base(store), { driver });
    const root = await c.mount();
    const expected = script(root);
    const changes = await c.diff();
    expect(lines(changes)).toEqual(expected);
    const paths = changes.map((x) => x.path);
    expect(paths).toEqual([...paths].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))));
    const motd = changes.find((x) => x.path === '/etc/motd')!;
    expect(motd).toMatchObject({ kind: 'C', type: 'file', size: 'welcome\nappended\n'.length });
    expect(changes.find((x) => x.path === '/recreate')!.opaque).toBe(true);
  });

  test('commit: a round trip through a fresh store gives the merged tree; the same state gives the same bytes', async () => {
    const chain = base(store);
    const c = await store.createContainer(chain, { driver });
    const root = await c.mount();
    script(root);
    const a = await c.commit({ compression: 'gzip' });
    const b = await c.commit({ compression: 'gzip' });
    expect(a).toEqual(b);
    expect(a.chainId).not.toBe(chain);
    const blob = fs.readFileSync(store.paths.blob(a.digest));
    expect('sha256:' + createHash('sha256').update(blob).digest('hex')).toBe(a.digest);
    expect('sha256:' + createHash('sha256').update(execFileSync('gzip', ['-dc'], { input: blob })).digest('hex')).toBe(a.diffId);

    // the committed layer's directory (from the container's files) and the tarball agree
    const merged = snapshotDir(root);
    sameTree(snapshotView(store.view(a.chainId)), merged, { mtimes: false });

    // the tarball applied in a fresh store on the same base
    const other = await LayerStore.open(path.join(work, 'other'));
    const baseTar = path.join(work, 'base.tar');
    await packToFile({ dir: store.paths.layerDiff(chain), whiteout: store.whiteout }, baseTar, { compression: 'none' });
    const base2 = await other.importLayer(baseTar);
    const again = await other.importLayer(store.exportLayer(a.chainId), { parent: base2.chainId });
    expect(again.diffId).toBe(a.diffId);
    sameTree(snapshotView(other.view(again.chainId)), merged, { mtimes: false });

    // a container on the committed layer starts with no changes
    const next = await store.createContainer(a.chainId, { driver });
    await next.mount();
    expect(await next.diff()).toEqual([]);
  });

  test('commit with zstd and none; sourceDateEpoch clamps mtimes', async () => {
    const c = await store.createContainer(base(store), { driver });
    const root = await c.mount();
    fs.writeFileSync(path.join(root, 'new'), 'n');
    const z = await c.commit({ compression: 'zstd' });
    expect(z.mediaType).toBe('application/vnd.oci.image.layer.v1.tar+zstd');
    const n = await c.commit({ compression: 'none', sourceDateEpoch: 100 });
    expect(n.digest).toBe(n.diffId);
    const listing = execFileSync('tar', ['--full-time', '-tvf', store.paths.blob(n.digest)]).toString();
    expect(listing).toContain('1970-01-01 00:01:40 new');
  });
});

test('diffTrees compares metadata first and contents only when needed', () => {
  const work = tempDir('layerfs-trees-');
  try {
    const a = path.join(work, 'a');
    const b = path.join(work, 'b');
    for (const d of [a, b]) {
      fs.mkdirSync(path.join(d, 'dir'), { recursive: true });
      fs.writeFileSync(path.join(d, 'same'), 'same');
      fs.writeFileSync(path.join(d, 'touched'), 'same bytes');
      fs.writeFileSync(path.join(d, 'sneaky'), 'AAAA');
      fs.utimesSync(path.join(d, 'same'), T0, T0);
      fs.utimesSync(path.join(d, 'sneaky'), T0, T0);
    }
    fs.writeFileSync(path.join(b, 'sneaky'), 'BBBB');
    fs.utimesSync(path.join(b, 'sneaky'), T0, T0);
    fs.utimesSync(path.join(a, 'touched'), T0, T0);
    fs.writeFileSync(path.join(a, 'only-a'), '');
    fs.writeFileSync(path.join(b, 'dir/only-b'), '');
    // same size and mtime: metadata decides "unchanged" unless asked to read contents
    expect(lines(diffTrees(a, b))).toEqual(['A /dir/only-b', 'C /touched', 'D /only-a']);
    expect(diffTrees(a, b).find((c) => c.path === '/touched')!.what).toEqual(['mtime']);
    expect(lines(diffTrees(a, b, { compareContent: 'always' }))).toEqual(['A /dir/only-b', 'C /sneaky', 'C /touched', 'D /only-a']);
  } finally {
    cleanup(work);
  }
});
