import * as fs from 'fs';
import * as path from 'path';
import { execFileSync, spawn } from 'child_process';
import * as native from '../../lib/native';
import { LayerStore } from '../../lib/layer-store';
import type { Container } from '../../lib/container';
import type { DriverName } from '../../lib/drivers';
import { inUserNamespace } from '../../lib/userns/identity';
import type { Change } from '../../lib/diff/types';
import type { TreeInput } from '../../lib/diff';
import { cleanup, hashTree, makeLayer, makeOpaque, makeWhiteout, mountedUnder, tempDir } from './helpers';
import { snapshotDir, snapshotView, sameTree } from './tree-compare';
import { buildUmociFixture, fixtureDir, hasUmoci, UmociFixture } from '../fixtures/umoci';

const isRoot = process.getuid?.() === 0;
/** root of the initial user namespace: trusted.* xattrs and real device nodes (root of a user namespace, as test/userns/as-user.test.ts runs this suite, has neither) */
const hostRoot = isRoot && !inUserNamespace();

function snapshotTree(t: TreeInput) {
  return typeof t === 'string' ? snapshotDir(t) : snapshotView(t);
}

export interface DriverSuiteOptions {
  /** false: every case is skipped (say why before calling) */
  enabled: boolean;
  /** a fresh store for one test (default: LayerStore.open in a new directory) */
  openStore?: (dir: string) => Promise<LayerStore>;
  /** hears the changes the standard edits gave, for comparisons across drivers */
  onChanges?: (changes: Change[]) => void;
}

const T0 = new Date('2020-01-02T03:04:05.678Z');

/**
 * A three-layer chain with what real layers hold: changed, deleted and recreated files, a deleted
 * directory, an opaque directory, hardlinks (one of them broken by a later layer), symlinks,
 * a fifo, a device (as root), xattrs, set-id modes, owners, fixed mtimes.
 */
export function buildChain(store: LayerStore): string {
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
    if (hostRoot) {
      native.lsetxattrSync(path.join(d, 'xattr'), 'trusted.t', 'root only');
      native.mknodSync(path.join(d, 'null'), fs.constants.S_IFCHR | 0o666, 1, 3);
      fs.chmodSync(path.join(d, 'null'), 0o666);
    }
    if (isRoot) {
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

/**
 * The cases every driver must pass, as containerd's snapshotter testsuite gives them: a driver's
 * own test file calls `driverSuite(name, …)`, then adds its own cases. Each case opens a fresh
 * store and passes nothing on to the next.
 */
export function driverSuite(driver: DriverName, opts: DriverSuiteOptions): void {
  describe(`${driver} driver conformance`, () => {
    const test = opts.enabled ? it : it.skip;
    let umoci: { dir: string; fixture: UmociFixture; unpacked: string } | undefined;
    beforeAll(() => {
      if (!opts.enabled || !hasUmoci) return;
      const dir = fixtureDir();
      const fixture = buildUmociFixture(dir);
      const unpacked = path.join(dir, 'unpacked');
      fixture.rawUnpack(unpacked);
      umoci = { dir, fixture, unpacked };
    });
    afterAll(() => cleanup(umoci?.dir));

    let work: string;
    let store: LayerStore;
    beforeEach(async () => {
      if (!opts.enabled) return;
      work = tempDir(`conformance-${driver}`);
      store = await (opts.openStore ?? ((d) => LayerStore.open(d)))(path.join(work, 'store'));
    });
    afterEach(() => cleanup(work));

    async function mounted(chain: string | null, more: { readOnly?: boolean } = {}): Promise<{ c: Container; root: string }> {
      const c = await store.createContainer(chain, { driver, ...more });
      expect(c.driver).toBe(driver);
      return { c, root: await c.mount() };
    }

    test('the mounted tree equals the union view of the chain, and readTree equals it unmounted', async () => {
      const top = buildChain(store);
      const { c, root } = await mounted(top);
      sameTree(snapshotDir(root), snapshotView(store.view(top)), { mtimes: true });
      await c.unmount();
      sameTree(snapshotTree(c.readTree()), snapshotView(store.view(top)), { mtimes: false });
      await c.remove();
    });

    test('whiteouts and opaque directories are honoured', async () => {
      const { c, root } = await mounted(buildChain(store));
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

    test('edits behave as on a plain directory and never reach the layers; diff names them and commit makes them a layer', async () => {
      const top = buildChain(store);
      const { c, root } = await mounted(top);
      const layers = store.layerDirs(top);
      const before = layers.map(hashTree);
      const plain = path.join(work, 'plain');
      execFileSync('cp', ['-a', root, plain]);
      edit(root);
      edit(plain);
      sameTree(snapshotDir(root), snapshotDir(plain), { mtimes: false });
      expect(layers.map(hashTree)).toEqual(before);
      const changes = await c.diff();
      opts.onChanges?.(changes);
      const kinds = Object.fromEntries(changes.map((ch) => [ch.path, ch.kind]));
      expect(kinds).toMatchObject({ '/new.txt': 'A', '/etc/passwd': 'C', '/etc/hosts': 'D', '/usr/share/doc': 'D', '/lnk': 'D', '/lnk2': 'A', '/opq2': 'A', '/made': 'A' });
      expect(changes.map((ch) => ch.path)).toEqual([...changes.map((ch) => ch.path)].sort());
      // the tree without its mount shows the edits too
      sameTree(snapshotTree(c.readTree()), snapshotDir(plain), { mtimes: false });
      const layer = await c.commit({ compression: 'none' });
      sameTree(snapshotView(store.view(layer.chainId)), snapshotDir(plain), { mtimes: false });
      await c.remove();
    });

    test('on no layers: an empty tree, whose writes are its changes', async () => {
      const { c, root } = await mounted(null);
      expect(fs.readdirSync(root)).toEqual([]);
      fs.mkdirSync(path.join(root, 'd'));
      fs.writeFileSync(path.join(root, 'd/f'), 'f');
      expect((await c.diff()).map((ch) => `${ch.kind} ${ch.path}`)).toEqual(['A /d', 'A /d/f']);
      const layer = await c.commit({ compression: 'none' });
      expect(store.view(layer.chainId).readFileSync('/d/f').toString()).toBe('f');
      await c.remove();
    });

    (opts.enabled && isRoot && native.available() ? it : it.skip)('read-only: nothing can be written, and there are no changes', async () => {
      const top = buildChain(store);
      const { c, root } = await mounted(top, { readOnly: true });
      sameTree(snapshotDir(root), snapshotView(store.view(top)), { mtimes: true });
      expect(() => fs.writeFileSync(path.join(root, 'nope'), 'x')).toThrow(expect.objectContaining({ code: 'EROFS' }));
      expect(await c.diff()).toEqual([]);
      await c.remove();
      expect(mountedUnder(store.root)).toEqual([]);
    });

    (opts.enabled && isRoot && native.available() ? it : it.skip)('mounts() are what a caller needs to mount the tree by itself', async () => {
      const top = buildChain(store);
      const c = await store.createContainer(top, { driver });
      const specs = await c.mounts();
      expect(specs.length).toBeGreaterThan(0);
      const target = path.join(work, 'by-hand');
      fs.mkdirSync(target);
      for (const s of specs) {
        const options = s.options.filter((o) => o !== 'rbind' || s.type === 'bind');
        const args = s.type === 'bind' ? ['--rbind', s.source, target] : ['-t', s.type, s.source, target, '-o', options.join(',')];
        execFileSync('mount', args);
      }
      try {
        sameTree(snapshotDir(target), snapshotView(store.view(top)), { mtimes: true });
      } finally {
        execFileSync('umount', [target]);
      }
      await c.remove();
    });

    test('remove while a process works in the tree: nothing left behind', async () => {
      const { c, root } = await mounted(buildChain(store));
      fs.writeFileSync(path.join(root, 'scribble'), 'x');
      const busy = spawn('sleep', ['60'], { cwd: root, stdio: 'ignore' });
      try {
        await c.remove();
      } finally {
        busy.kill();
      }
      expect(mountedUnder(store.root)).toEqual([]);
      expect(fs.readdirSync(store.paths.containersDir)).toEqual([]);
    });

    test('remove leaves nothing behind: no mount, no directory, no staging', async () => {
      const { c, root } = await mounted(buildChain(store));
      fs.writeFileSync(path.join(root, 'scribble'), 'x');
      await c.remove();
      expect(mountedUnder(store.root)).toEqual([]);
      expect(fs.readdirSync(store.paths.containersDir)).toEqual([]);
      expect(fs.readdirSync(store.paths.tmpDir)).toEqual([]);
    });

    (opts.enabled && hasUmoci ? it : it.skip)('a chain made by umoci mounts as its union view, and as umoci unpacks it', async () => {
      let parent: string | null = null;
      for (const [i, l] of umoci!.fixture.layers.entries()) {
        parent = (await store.importLayer(l.blobPath, { parent, expectDiffId: umoci!.fixture.diffIds[i] })).chainId;
      }
      const { c, root } = await mounted(parent);
      const tree = snapshotDir(root);
      sameTree(tree, snapshotView(store.view(parent)), { mtimes: true });
      sameTree(tree, snapshotDir(umoci!.unpacked), { mtimes: false });
      await c.remove();
      expect(mountedUnder(store.root)).toEqual([]);
    });
  });
}
