/**
 * The store is private to its owner: a setuid-root file or a device node from an untrusted layer
 * must not be reachable by another local user, under layers/<id>/diff or through a mounted
 * containers/<id>/merged (the class of moby CVE-2021-41091; containers/storage makes its layer
 * directories 0700 for the same reason).
 */
import * as fs from 'fs';
import * as path from 'path';
import { LayerStore } from '../../lib/layer-store';
import { privateDirs } from '../../lib/store/private';
import { rawTar } from '../fixtures/hostile-tar';
import { itIf } from '../fixtures/peers';
import { NOBODY, readableDist, runAsNobody } from '../fixtures/unprivileged';
import { cleanup, tempDir } from '../drivers/helpers';
import { removeTempDir } from '../fixtures/tmp';

let work: string;
beforeEach(() => {
  work = tempDir('private');
  // the temp dir itself is reachable, as any parent of a store may be: only the store's own modes guard it
  fs.chmodSync(work, 0o755);
});
afterEach(() => cleanup(work));

const mode = (p: string) => fs.statSync(p).mode & 0o7777;

/** A layer with a setuid-root shell, a world-writable setgid file and /dev/mem-like device. */
function hostileLayer(): string {
  const file = path.join(work, 'hostile.tar');
  fs.writeFileSync(
    file,
    rawTar([
      { name: 'bin/', type: '5', mode: 0o755 },
      { name: 'bin/rootshell', body: '#!/bin/sh\nexec /bin/sh -p\n', mode: 0o4755, uid: 0, gid: 0 },
      { name: 'dev/', type: '5', mode: 0o755 },
      { name: 'dev/mem', type: '3', devmajor: 1, devminor: 1, mode: 0o666 },
    ]),
  );
  return file;
}

/** What nobody gets from `stat` and `cat` on each path: every one must fail with "Permission denied". */
function reachableByNobody(paths: string[]): string[] {
  const out: string[] = [];
  for (const p of paths) {
    for (const [cmd, args] of [['stat', ['-c', '%a %u', p]], ['cat', [p]]] as const) {
      const r = runAsNobody(cmd, [...args]);
      if (r.status === 0 || !/Permission denied/.test(r.stderr)) out.push(`${cmd} ${p}: status ${r.status} ${r.stdout.trim()} ${r.stderr.trim()}`);
    }
  }
  return out;
}

describe('a private store', () => {
  test('a new store and its staging are owner-only', async () => {
    const store = await LayerStore.open(path.join(work, 'store'));
    for (const d of privateDirs(store.paths)) expect([d, mode(d)]).toEqual([d, 0o700]);
    const staging = store.makeStaging('x');
    expect(mode(staging)).toBe(0o700);
    expect(store.warnings).toEqual([]);
  });

  itIf(['root', 'addon'])('a setuid-root file and a device from a layer cannot be reached by another user, in the layer or in a mounted overlay container', async () => {
    const store = await LayerStore.open(path.join(work, 'store'));
    const layer = await store.importLayer(hostileLayer());
    const diff = store.paths.layerDiff(layer.chainId);
    expect(mode(path.join(diff, 'bin/rootshell'))).toBe(0o4755);
    expect(fs.statSync(path.join(diff, 'dev/mem')).isCharacterDevice()).toBe(true);
    // a layer's own directory is owner-only too (defence in depth), its root keeps the image's mode
    expect(mode(store.paths.layer(layer.chainId))).toBe(0o700);
    const c = await store.createContainer(layer.chainId, { driver: 'overlay' });
    const merged = await c.mount();
    try {
      expect(fs.statSync(path.join(merged, 'bin/rootshell')).mode & 0o7777).toBe(0o4755);
      // the control: nobody runs, and reaches what is outside the store
      const control = runAsNobody('stat', ['-c', '%a', path.join(work, 'hostile.tar')]);
      expect([control.status, control.stderr]).toEqual([0, '']);
      const targets = [path.join(diff, 'bin/rootshell'), path.join(diff, 'dev/mem'), path.join(merged, 'bin/rootshell'), path.join(merged, 'dev/mem')];
      expect(reachableByNobody(targets)).toEqual([]);
    } finally {
      await c.remove();
    }
  });

  itIf(['root'])('opening an old 0755 store tightens it; fsck reports a store it cannot make private', async () => {
    const root = path.join(work, 'store');
    const store = await LayerStore.open(root);
    const layer = await store.importLayer(hostileLayer());
    // as stores were made before: every directory 0755
    for (const d of [...privateDirs(store.paths), store.paths.layer(layer.chainId)]) fs.chmodSync(d, 0o755);
    expect(runAsNobody('stat', ['-c', '%a', path.join(store.paths.layerDiff(layer.chainId), 'bin/rootshell')]).stdout.trim()).toBe('4755');
    expect((await store.fsck()).problems.map((p) => [p.kind, p.message.replace(/ is mode.*/, '')])).toEqual(privateDirs(store.paths).map((d) => ['store', `not private: ${d}`]));

    const again = await LayerStore.open(root);
    for (const d of privateDirs(again.paths)) expect([d, mode(d)]).toEqual([d, 0o700]);
    expect(again.warnings).toEqual([]);
    expect(reachableByNobody([path.join(again.paths.layerDiff(layer.chainId), 'bin/rootshell')])).toEqual([]);
    expect((await again.fsck()).problems).toEqual([]);
  });

  itIf(['root'])('a parent that lets another user move the store away and put their own in its place: opening warns naming it, fsck reports it', async () => {
    const parent = path.join(work, 'parent');
    fs.mkdirSync(parent);
    const root = path.join(parent, 'store');
    const warnings = async () => (await LayerStore.open(root)).warnings;
    const storeProblems = async () => (await (await LayerStore.open(root)).fsck()).problems.filter((p) => p.kind === 'store').map((p) => p.message);
    const said = (why: string) => `${parent}, above the store ${root}, ${why}: that user can move the store away and put a directory of their own in its place`;

    fs.chmodSync(parent, 0o777);
    expect(await warnings()).toEqual([expect.stringContaining(said('is writable by others (mode 0777, no sticky bit)'))]);
    expect(await storeProblems()).toEqual([expect.stringContaining('not private: ' + said('is writable by others (mode 0777, no sticky bit)'))]);
    // what it warns of: nobody moves the 0700 store away (and could put a directory of theirs there)
    const moved = runAsNobody('mv', [root, root + '-gone']);
    expect([moved.status, moved.stderr]).toEqual([0, '']);
    fs.renameSync(root + '-gone', root);

    // the sticky bit (as /tmp has it): only the store's owner or root may rename it
    fs.chmodSync(parent, 0o1777);
    expect(runAsNobody('mv', [root, root + '-gone']).status).not.toBe(0);
    expect(await warnings()).toEqual([]);
    expect(await storeProblems()).toEqual([]);

    // a parent of another user's, who may chmod it
    fs.chmodSync(parent, 0o755);
    fs.chownSync(parent, 1000, 1000);
    expect(await warnings()).toEqual([expect.stringContaining(said('belongs to uid 1000'))]);
    // group-writable: this process's own group is not another user; group 1000 is
    fs.chownSync(parent, 0, process.getegid!());
    fs.chmodSync(parent, 0o775);
    expect(await warnings()).toEqual([]);
    fs.chownSync(parent, 0, 1000);
    expect(await warnings()).toEqual([expect.stringContaining(said('is writable by group 1000 (mode 0775, no sticky bit)'))]);
    fs.chmodSync(parent, 0o755);
    expect(await warnings()).toEqual([]);
  });

  itIf(['root', 'addon'])('a store whose directory its user cannot chmod opens with a warning that says so', async () => {
    // a store directory owned by root and open to all, used by nobody: nobody cannot chmod it
    const root = path.join(work, 'shared-store');
    fs.mkdirSync(root, { mode: 0o777 });
    fs.chmodSync(root, 0o777);
    const dist = readableDist();
    try {
      const script = `require(process.argv[1] + '/dist/lib/layer-store').LayerStore.open(process.argv[2], { onWarning: (m) => console.log('warning: ' + m) })
        .then((s) => console.log(JSON.stringify(s.warnings)), (e) => { console.error(e); process.exit(1); });`;
      const r = runAsNobody(process.execPath, ['-e', script, dist, root]);
      expect([r.status, r.stderr]).toEqual([0, '']);
      const lines = r.stdout.trim().split('\n');
      expect(lines[0]).toMatch(new RegExp(`^warning: ${root} is mode 0777 \\(owner uid 0\\) and could not be made 0700 \\(EPERM\\): other users can reach layer contents`));
      expect(JSON.parse(lines[1])).toEqual([lines[0].slice('warning: '.length)]);
      // what it could, it made private
      expect(fs.statSync(path.join(root, 'layers')).uid).toBe(NOBODY);
      expect(mode(path.join(root, 'layers'))).toBe(0o700);
    } finally {
      removeTempDir(dist);
    }
  });
});
