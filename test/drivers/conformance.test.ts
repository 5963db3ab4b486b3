import * as fs from 'fs';
import * as path from 'path';
import { execFileSync } from 'child_process';
import * as native from '../../lib/native';
import { LayerStore } from '../../lib/layer-store';
import type { Container } from '../../lib/container';
import type { DriverName } from '../../lib/container/types';
import type { Change } from '../../lib/diff/types';
import { canMount, cleanup, hashTree, makeLayer, makeOpaque, makeWhiteout, mountedUnder, tempDir } from './helpers';
import { snapshotDir, snapshotView, sameTree } from './tree-compare';
import { buildUmociFixture, fixtureDir, hasUmoci, UmociFixture } from '../fixtures/umoci';

const isRoot = process.getuid?.() === 0;
if (!canMount) console.warn('driver conformance: the overlay driver is skipped: mounting needs root and the native addon');
if (!hasUmoci) console.warn('driver conformance: the umoci chain is skipped: umoci is not installed');

/** A realistic chain made by umoci (built once, for both drivers), and how umoci itself unpacks it. */
let umoci: { dir: string; fixture: UmociFixture; unpacked: string } | undefined;
beforeAll(() => {
  if (!hasUmoci) return;
  const dir = fixtureDir();
  const fixture = buildUmociFixture(dir);
  const unpacked = path.join(dir, 'unpacked');
  fixture.rawUnpack(unpacked);
  umoci = { dir, fixture, unpacked };
});
afterAll(() => cleanup(umoci?.dir));

const T0 = new Date('2020-01-02T03:04:05.678Z');

/**
 * A three-layer chain with what real layers hold: changed, deleted and recreated files, a deleted
 * directory, an opaque directory, hardlinks (one of them broken by a later layer), symlinks,
 * a fifo, a device (as root), xattrs, set-id modes, owners, fixed mtimes.
 */
function buildChain(store: LayerStore): string {
  const file = (d: string, p: string, content: string, mode = 0o644) => {
    fs.mkdirSync(path.dirname(path.join(d, p)), { recursive: true });
    fs.writeFileSync(path.join(d, p), content);
    fs.chmodSync(path.join(d, p), mode);
  };
  const settle = (d: string) => {
    // fixed mtimes, deepest first so a parent's is not bumped afterwards
    const all = execFileSync('find', [d, '-depth']).toString().trim().split('\n');
    for (const p of all) fs.lutimesSync(p, T0, T0);
  };
  const l0 = makeLayer(store, null, (d) => {
    file(d, 'etc/passwd', 'root:x:0:0:root:/root:/bin/sh\n');
    file(d, 'etc/hosts', '127.0.0.1 localhost\n');
    file(d, 'etc/deleteme', 'bye\n');
    file(d, 'bin/sh', '#!shell\n', 0o755);
    fs.linkSync(path.join(d, 'bin/sh'), path.join(d, 'bin/ash'));
    file(d, 'bin/tool', 'tool\n', 0o755);
    fs.linkSync(path.join(d, 'bin/tool'), path.join(d, 'bin/tool-alias'));
    file(d, 'usr/share/doc/a.txt', 'a\n');
    file(d, 'usr/share/doc/b.txt', 'b\n');
    file(d, 'var/cache/app/data', 'cached\n');
    file(d, 'opq/old1', 'old1\n');
    file(d, 'opq/sub/old2', 'old2\n');
    fs.symlinkSync('etc/passwd', path.join(d, 'lnk'));
    fs.symlinkSync('/etc/hosts', path.join(d, 'abs'));
    native.mknodSync(path.join(d, 'fifo'), fs.constants.S_IFIFO | 0o600);
    file(d, 'xattr', 'x\n');
    native.lsetxattrSync(path.join(d, 'xattr'), 'user.comment', 'kept');
    if (isRoot) {
      native.lsetxattrSync(path.join(d, 'xattr'), 'trusted.t', 'root only');
      native.mknodSync(path.join(d, 'null'), fs.constants.S_IFCHR | 0o666, 1, 3);
      fs.chmodSync(path.join(d, 'null'), 0o666);
      fs.mkdirSync(path.join(d, 'shared'));
      fs.chownSync(path.join(d, 'shared'), 1, 2);
      fs.chmodSync(path.join(d, 'shared'), 0o2775);
      file(d, 'usr/bin/su', 'su\n', 0o4755);
    }
    settle(d);
  });
  const l1 = makeLayer(store, l0, (d) => {
    file(d, 'etc/passwd', 'root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000::/home/user:/bin/sh\n');
    makeWhiteout(store, path.join(d, 'etc'), 'deleteme');
    fs.mkdirSync(path.join(d, 'var'));
    makeWhiteout(store, path.join(d, 'var'), 'cache');
    fs.mkdirSync(path.join(d, 'opq'));
    makeOpaque(store, path.join(d, 'opq'));
    file(d, 'opq/new', 'new\n');
    file(d, 'usr/share/doc/a.txt', 'a\n', 0o600);
    file(d, 'newdir/file', 'in a new dir\n');
    settle(d);
  });
  return makeLayer(store, l1, (d) => {
    file(d, 'etc/hosts', '127.0.0.1 localhost\n::1 localhost\n');
    // a new bin/tool: bin/tool-alias is no longer a link to what bin/tool shows
    file(d, 'bin/tool', 'tool v2\n', 0o755);
    // recreated as a file after its directory was deleted
    file(d, 'var/cache', 'now a file\n');
    settle(d);
  });
}

/** `mv` semantics: rename, or copy and delete where rename gives EXDEV (overlayfs with redirect_dir=off, for directories from a lower layer). */
function move(from: string, to: string): void {
  try {
    fs.renameSync(from, to);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EXDEV') throw e;
    execFileSync('cp', ['-a', from, to]);
    fs.rmSync(from, { recursive: true });
  }
}

/** The same edits, on a container's tree or on a plain directory. */
function edit(root: string): void {
  const at = (p: string) => path.join(root, p);
  fs.writeFileSync(at('new.txt'), 'new file\n');
  fs.linkSync(at('new.txt'), at('new-link'));
  fs.writeFileSync(at('etc/passwd'), 'root:x:0:0::/root:/bin/bash\n');
  fs.appendFileSync(at('usr/share/doc/b.txt'), 'more\n');
  fs.rmSync(at('etc/hosts'));
  fs.rmSync(at('usr/share/doc'), { recursive: true });
  move(at('lnk'), at('lnk2'));
  move(at('opq'), at('opq2'));
  move(at('newdir/file'), at('moved-file'));
  // (not on bin/sh: overlayfs copies a hardlinked file up alone, so its other names keep the old
  // inode; the copy driver and a plain directory change all names)
  fs.chmodSync(at('bin/tool'), 0o700);
  fs.chmodSync(at('fifo'), 0o644);
  fs.chmodSync(at('newdir'), 0o711);
  fs.mkdirSync(at('made/deep'), { recursive: true });
  fs.symlinkSync('../../new.txt', at('made/deep/link'));
}

const changesSeen: Partial<Record<DriverName, Change[]>> = {};

describe.each<[DriverName, boolean]>([
  ['overlay', canMount],
  ['copy', true],
])('%s driver conformance', (driver, enabled) => {
  const test = enabled ? it : it.skip;
  let work: string;
  let store: LayerStore;
  let top: string;
  beforeAll(async () => {
    work = tempDir(`conformance-${driver}`);
    store = await LayerStore.open(path.join(work, 'store'));
    top = buildChain(store);
  });
  afterAll(() => cleanup(work));

  async function mounted(): Promise<{ c: Container; root: string }> {
    const c = await store.createContainer(top, { driver });
    expect(c.driver).toBe(driver);
    return { c, root: await c.mount() };
  }

  test('the mounted tree equals the union view of the chain', async () => {
    const { c, root } = await mounted();
    sameTree(snapshotDir(root), snapshotView(store.view(top)), { mtimes: true });
    await c.remove();
  });

  test('whiteouts and opaque directories are honoured', async () => {
    const { c, root } = await mounted();
    const at = (p: string) => path.join(root, p);
    expect(fs.existsSync(at('etc/deleteme'))).toBe(false);
    expect(fs.readFileSync(at('var/cache'), 'utf8')).toBe('now a file\n');
    expect(fs.readdirSync(at('opq'))).toEqual(['new']);
    expect(fs.readFileSync(at('etc/passwd'), 'utf8')).toContain('user:x:1000');
    expect(fs.statSync(at('usr/share/doc/a.txt')).mode & 0o777).toBe(0o600);
    expect(fs.statSync(at('bin/ash')).ino).toBe(fs.statSync(at('bin/sh')).ino);
    expect(fs.readFileSync(at('bin/tool-alias'), 'utf8')).toBe('tool\n');
    expect(native.lgetxattrSync(at('xattr'), 'user.comment')!.toString()).toBe('kept');
    await c.remove();
  });

  test('writes, deletes, renames and chmods behave as on a plain directory, and never reach the layers', async () => {
    const { c, root } = await mounted();
    const layers = store.layerDirs(top);
    const before = layers.map(hashTree);
    const plain = path.join(work, 'plain');
    execFileSync('cp', ['-a', root, plain]);
    edit(root);
    edit(plain);
    sameTree(snapshotDir(root), snapshotDir(plain), { mtimes: false });
    expect(layers.map(hashTree)).toEqual(before);
    changesSeen[driver] = await c.diff();
    // committed, the changes make a layer whose chain shows the edited tree
    const layer = await c.commit({ compression: 'none' });
    sameTree(snapshotView(store.view(layer.chainId)), snapshotDir(plain), { mtimes: false });
    fs.rmSync(plain, { recursive: true });
    await c.remove();
  });

  test('the diff names what the edits changed', () => {
    const changes = changesSeen[driver];
    expect(changes).toBeDefined();
    if (!changes) return;
    const kinds = Object.fromEntries(changes.map((ch) => [ch.path, ch.kind]));
    expect(kinds).toMatchObject({ '/new.txt': 'A', '/etc/passwd': 'C', '/etc/hosts': 'D', '/usr/share/doc': 'D', '/lnk': 'D', '/lnk2': 'A', '/opq2': 'A', '/made': 'A' });
    expect(changes.map((ch) => ch.path)).toEqual([...changes.map((ch) => ch.path)].sort());
  });

  (enabled && hasUmoci ? it : it.skip)('a chain made by umoci mounts as its union view, and as umoci unpacks it', async () => {
    let parent: string | null = null;
    for (const [i, l] of umoci!.fixture.layers.entries()) {
      parent = (await store.importLayer(l.blobPath, { parent, expectDiffId: umoci!.fixture.diffIds[i] })).chainId;
    }
    const c = await store.createContainer(parent, { driver });
    const root = await c.mount();
    const tree = snapshotDir(root);
    sameTree(tree, snapshotView(store.view(parent)), { mtimes: true });
    sameTree(tree, snapshotDir(umoci!.unpacked), { mtimes: false });
    await c.remove();
    expect(mountedUnder(store.root)).toEqual([]);
  });

  test('remove leaves nothing behind: no mount, no directory', async () => {
    const { c, root } = await mounted();
    fs.writeFileSync(path.join(root, 'scribble'), 'x');
    await c.remove();
    expect(mountedUnder(store.root)).toEqual([]);
    expect(fs.readdirSync(store.paths.containersDir)).toEqual([]);
    expect(fs.readdirSync(store.paths.tmpDir)).toEqual([]);
  });
});

describe('both drivers', () => {
  const test = canMount ? it : it.skip;
  test('report the same changes for the same edits', () => {
    const strip = (cs: Change[] = []) => cs.map((c) => `${c.kind} ${c.path}`);
    expect(strip(changesSeen.overlay)).toEqual(strip(changesSeen.copy));
  });
});
