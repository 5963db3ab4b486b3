import * as fs from 'fs';
import * as path from 'path';
import { spawnSync } from 'child_process';
import { listTar } from '../container/tar-listing';
import { describeIf } from '../fixtures/peers';
import { asUser, cliAs, giveFile, makeUser, removeUser, rootlessUnmet, TestUser } from './users';
import { rawTar } from '../fixtures/hostile-tar';

/**
 * Single-uid mode with no user namespace at all, as an ordinary user: LAYERFS_USERNS=off (the
 * switch that says never to use one) takes the path a kernel that forbids them takes
 * (namespaceBlocker in lib/userns/detect.ts): the store is made here, with the copy driver and
 * the oci format, and the image's owners and devices are kept in xattrs, so that diff, commit,
 * export and fsck give them back. And `image build` as a user, in a namespace and without one.
 */
const why = rootlessUnmet();
const T = 120_000;
const OFF = { LAYERFS_USERNS: 'off' };

function ok(r: { status: number | null; stdout: string; stderr: string }, what: string): string {
  if (r.status !== 0) throw new Error(`${what}: exit ${r.status}\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

const mtime = 1700000000;
/** Files of several owners, as a Debian base has them (/etc/shadow is root:shadow, gid 42), and devices. */
const baseLayer = (): Buffer => rawTar([
  { name: 'etc/', type: '5', mode: 0o755, mtime },
  { name: 'etc/passwd', body: 'root:x:0:0::/root:/bin/sh\n', mode: 0o644, mtime },
  { name: 'etc/shadow', body: 'root:*:19000::::::\n', mode: 0o640, gid: 42, mtime },
  { name: 'home/', type: '5', mode: 0o755, mtime },
  { name: 'home/u/', type: '5', mode: 0o750, uid: 1000, gid: 1000, mtime },
  { name: 'home/u/notes', body: 'hello\n', mode: 0o600, uid: 1000, gid: 1000, mtime },
  { name: 'gone', body: 'bye', mode: 0o644, mtime },
  // read-only to their owner: an ordinary user still keeps their owners
  { name: 'ro/', type: '5', mode: 0o555, gid: 7, mtime },
  { name: 'ro/f', body: 'r', mode: 0o444, uid: 5, mtime },
  { name: 'dev/', type: '5', mode: 0o755, mtime },
  { name: 'dev/null', type: '3', devmajor: 1, devminor: 3, mode: 0o666, mtime },
  { name: 'dev/sda', type: '4', devmajor: 8, devminor: 0, mode: 0o660, gid: 6, mtime },
  // a layer's own records are not obeyed
  { name: 'etc/motd', body: 'hi\n', mode: 0o644, mtime, pax: { 'SCHILY.xattr.user.rootlesscontainers': Buffer.from([0x08, 0xd2, 0x09]), 'SCHILY.xattr.user.layerfs.device': 'b 8 0' } },
]);

describeIf(why === null, why ?? '')('rootless with no user namespace at all (LAYERFS_USERNS=off): single-uid mode on the host', () => {
  let u: TestUser;
  let chain: string;
  let id: string;
  const store = () => path.join(u.home, '.local/share/layerfs');
  beforeAll(() => {
    u = makeUser(true);
  });
  afterAll(() => removeUser(u));

  test(
    'import: a warning says why there is no namespace; the store records the mode, files are the user\'s, the image owners and devices are in xattrs',
    () => {
      const tar = giveFile(u, 'base.tar', baseLayer());
      const r = cliAs(u, ['--json', 'import', tar], { env: OFF });
      chain = JSON.parse(ok(r, 'import')).chainId;
      expect(r.stderr).toMatch(/no user namespace: LAYERFS_USERNS=off says to use no user namespace; containers use the copy driver, and the owners and devices of image files are kept in the user.rootlesscontainers and user.layerfs.device xattrs/);
      expect(fs.existsSync(path.join(store(), 'userns.json'))).toBe(false);
      const config = JSON.parse(fs.readFileSync(path.join(store(), 'store.json'), 'utf8'));
      expect([config.whiteout, config.identity.uid, config.identity.uids, config.owners]).toEqual(['oci', u.uid, [{ inside: 0, outside: 0, count: 4294967295 }], 'xattr']);
      const diff = path.join(store(), 'layers', chain.slice(7), 'diff');
      const x = ok(asUser(u, 'sh', ['-c', `cd ${diff} && for f in etc/shadow home/u/notes etc/motd etc/passwd dev/null dev/sda; do echo "$f $(stat -c '%u:%g %F' $f) $(getfattr --only-values -e hex -n user.rootlesscontainers $f 2>/dev/null | od -An -tx1 | tr -d ' \\n') $(getfattr --only-values -n user.layerfs.device $f 2>/dev/null)"; done`]), 'getfattr');
      expect(x.trim().split('\n').map((l) => l.trimEnd())).toEqual([
        `etc/shadow ${u.uid}:${u.gid} regular file 102a`,
        `home/u/notes ${u.uid}:${u.gid} regular file 08e80710e807`,
        `etc/motd ${u.uid}:${u.gid} regular file`,
        `etc/passwd ${u.uid}:${u.gid} regular file`,
        `dev/null ${u.uid}:${u.gid} regular empty file  c 1 3`,
        `dev/sda ${u.uid}:${u.gid} regular empty file 1006 b 8 0`,
      ]);
      // the layer re-packs to its DiffID: the owners and devices come back
      ok(cliAs(u, ['fsck'], { env: OFF }), 'fsck');
    },
    T,
  );

  test(
    'a copy container, changed in place: diff sees exactly the change, and the commit carries the image owners and devices (a new file 0:0), no xattr of ours',
    async () => {
      const c = JSON.parse(ok(cliAs(u, ['--json', 'create', chain], { env: OFF }), 'create'));
      id = c.id;
      expect(c.driver).toBe('copy');
      const root = ok(cliAs(u, ['mount', id], { env: OFF }), 'mount').trim();
      ok(asUser(u, 'sh', ['-c', `cd ${root} && echo more >> etc/shadow && echo new > newfile && echo more >> home/u/notes && rm gone && chmod 600 dev/null && chmod u+w ro && echo n > ro/new && chmod u-w ro`]), 'change');
      const d = JSON.parse(ok(cliAs(u, ['--json', 'diff', id], { env: OFF }), 'diff'));
      expect(d.changes.map((x: { kind: string; path: string }) => `${x.kind} ${x.path}`)).toEqual(['C /dev/null', 'C /etc/shadow', 'D /gone', 'C /home/u/notes', 'A /newfile', 'A /ro/new']);
      // each change says what the commit will carry: the image's owner, the device, a new file 0:0
      const meta = Object.fromEntries(d.changes.map((x: { path: string; type: string; uid: number; gid: number }) => [x.path, `${x.type} ${x.uid}:${x.gid}`]));
      expect(meta).toEqual({ '/dev/null': 'char 0:0', '/etc/shadow': 'file 0:42', '/gone': 'file 0:0', '/home/u/notes': 'file 1000:1000', '/newfile': 'file 0:0', '/ro/new': 'file 0:0' });
      const layer = JSON.parse(ok(cliAs(u, ['--json', 'commit', id], { env: OFF }), 'commit'));
      const out = path.join(u.home, 'committed.tar');
      ok(cliAs(u, ['export', layer.chainId, '-o', out], { env: OFF }), 'export');
      const listed = await listTar(out);
      const owners = Object.fromEntries(listed.map((e) => [e.name, `${e.type} ${e.uid}:${e.gid}`]));
      expect(owners).toEqual({
        'dev/': 'directory 0:0',
        'dev/null': 'character-device 0:0',
        'etc/': 'directory 0:0',
        'etc/shadow': 'file 0:42',
        'home/': 'directory 0:0',
        'home/u/': 'directory 1000:1000',
        'home/u/notes': 'file 1000:1000',
        'ro/': 'directory 0:7',
        'ro/new': 'file 0:0',
        newfile: 'file 0:0',
        '.wh.gone': 'file 0:0',
      });
      for (const e of listed) expect([e.name, Object.keys(e.pax).filter((k) => /rootlesscontainers|layerfs|overlay/.test(k))]).toEqual([e.name, []]);
      // the whole image exported: every owner is the image's, the devices are devices
      const base = path.join(u.home, 'base-export.tar');
      ok(cliAs(u, ['export', chain, '-o', base], { env: OFF }), 'export base');
      const all = Object.fromEntries((await listTar(base)).map((e) => [e.name, `${e.type} ${e.uid}:${e.gid}`]));
      expect(all).toMatchObject({ 'etc/passwd': 'file 0:0', 'etc/shadow': 'file 0:42', 'etc/motd': 'file 0:0', 'dev/null': 'character-device 0:0', 'dev/sda': 'block-device 0:6', 'home/u/notes': 'file 1000:1000', 'ro/': 'directory 0:7', 'ro/f': 'file 5:0' });
      ok(cliAs(u, ['fsck'], { env: OFF }), 'fsck after commit');
    },
    T,
  );

  test(
    '`image build` with no namespace: the built layer is 0:0 (the user is root of the image), on a base image from the store',
    async () => {
      ok(asUser(u, 'sh', ['-c', 'mkdir -p app && echo hi > app/main.js']), 'app');
      ok(cliAs(u, ['image', 'build', '--from', 'scratch', '--layer', 'app:/app', '--cmd', 'sh', '-o', 'built'], { env: OFF }), 'image build');
      const idx = JSON.parse(fs.readFileSync(path.join(u.home, 'built/index.json'), 'utf8'));
      const manifest = JSON.parse(fs.readFileSync(path.join(u.home, 'built/blobs', ...idx.manifests[0].digest.split(':')), 'utf8'));
      const listed = await listTar(path.join(u.home, 'built/blobs', ...manifest.layers[0].digest.split(':')));
      expect(listed.map((e) => `${e.name} ${e.uid}:${e.gid}`)).toEqual(['app/ 0:0', 'app/main.js 0:0']);
    },
    T,
  );

  test(
    'a store of the user made without a namespace before owners were kept (no `owners` in store.json) says so when opened',
    () => {
      const old = path.join(u.home, 'old-store');
      ok(cliAs(u, ['--store', old, 'ls'], { env: OFF }), 'make');
      const file = path.join(old, 'store.json');
      const config = JSON.parse(fs.readFileSync(file, 'utf8'));
      delete config.owners;
      fs.writeFileSync(file, JSON.stringify(config));
      const r = cliAs(u, ['--store', old, 'ls'], { env: OFF });
      expect(ok(r, 'ls')).toBeDefined();
      expect(r.stderr).toMatch(/was made without a user namespace before owners were kept in xattrs: the files of its layers have uid \d+ as their owner and kept no other, so a diff, commit or export gives 0:0 for them/);
      // and it opens as it did without LAYERFS_USERNS=off (it lives in no namespace)
      expect(cliAs(u, ['--store', old, 'ls']).status).toBe(0);
    },
    T,
  );

  test(
    'a store that lives in a user namespace, opened with LAYERFS_USERNS=off: a clear error, not wrong owners',
    () => {
      const v = makeUser(true);
      try {
        ok(cliAs(v, ['ls']), 'ls in a namespace');
        const r = cliAs(v, ['--json', 'ls'], { env: OFF });
        expect(JSON.parse(r.stdout).error).toMatchObject({ code: 'LAYERFS_USERNS' });
        expect(JSON.parse(r.stdout).error.message).toMatch(/lives in a user namespace, and none can be had now: LAYERFS_USERNS=off says to use no user namespace/);
      } finally {
        removeUser(v);
      }
    },
    T,
  );
});

describeIf(why === null, why ?? '')('`image build` as a user in the store\'s user namespace', () => {
  let u: TestUser;
  beforeAll(() => {
    u = makeUser(true);
  });
  afterAll(() => removeUser(u));

  test(
    'from scratch (the built layer is 0:0, the user being root of the namespace), imported back, and on that image as a base, written as an oci-archive',
    async () => {
      ok(asUser(u, 'sh', ['-c', 'mkdir -p app && echo hi > app/main.js && ln -s main.js app/entry']), 'app');
      const r = cliAs(u, ['--json', 'image', 'build', '--from', 'scratch', '--layer', 'app:/app', '--cmd', 'sh', '-o', 'built']);
      const built = JSON.parse(ok(r, 'image build from scratch'));
      expect(built.layers).toHaveLength(1);
      const idx = JSON.parse(fs.readFileSync(path.join(u.home, 'built/index.json'), 'utf8'));
      const manifest = JSON.parse(fs.readFileSync(path.join(u.home, 'built/blobs', ...idx.manifests[0].digest.split(':')), 'utf8'));
      const listed = await listTar(path.join(u.home, 'built/blobs', ...manifest.layers[0].digest.split(':')));
      expect(listed.map((e) => `${e.name} ${e.uid}:${e.gid}`)).toEqual(['app/ 0:0', 'app/entry 0:0', 'app/main.js 0:0']);
      expect(fs.existsSync(path.join(u.home, '.local/share/layerfs/userns.json'))).toBe(true);
      const imported = JSON.parse(ok(cliAs(u, ['--json', 'image', 'import', path.join(u.home, 'built')]), 'image import'));
      expect(JSON.stringify(imported)).toMatch(/sha256:/);
      const on = cliAs(u, ['--json', 'image', 'build', '--from', path.join(u.home, 'built'), '--layer', 'app:/more', '--format', 'oci-archive', '-o', 'more.tar']);
      expect(JSON.parse(ok(on, 'image build on a layout')).layers).toHaveLength(1);
      expect(spawnSync('tar', ['-tf', path.join(u.home, 'more.tar')], { encoding: 'utf8' }).stdout).toMatch(/index\.json/);
    },
    T,
  );
});
