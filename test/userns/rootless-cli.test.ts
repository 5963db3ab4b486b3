import * as fs from 'fs';
import * as path from 'path';
import { rawTar } from '../fixtures/hostile-tar';
import { listTar } from '../container/tar-listing';
import { describeIf, itIf, unmet } from '../fixtures/peers';
import { busyboxUnmet, makeBusyboxRoot } from '../fixtures/busybox';
import { asUser, cliAs, giveFile, makeUser, removeUser, rootlessUnmet, TestUser } from './users';

/**
 * The whole workflow as an ordinary user with a subordinate id range, through the CLI: the
 * store in the user's home, its user namespace held by a helper process, overlay containers
 * mounted there, and owners that are the image's own inside and in every committed layer.
 */
const why = rootlessUnmet() ?? (require('../fixtures/peers') as typeof import('../fixtures/peers')).unmet(['python3'])[0] ?? null;
const T = 120_000;

/** An image layer with files of several owners, as a Debian base has them (/etc/shadow is root:shadow, gid 42). */
export function baseLayer(extra: Parameters<typeof rawTar>[0] = []): Buffer {
  const mtime = 1700000000;
  return rawTar([
    { name: 'etc/', type: '5', mode: 0o755, mtime },
    { name: 'etc/passwd', body: 'root:x:0:0::/root:/bin/sh\n', mode: 0o644, mtime },
    { name: 'etc/shadow', body: 'root:*:19000::::::\n', mode: 0o640, gid: 42, mtime },
    { name: 'home/', type: '5', mode: 0o755, mtime },
    { name: 'home/u/', type: '5', mode: 0o750, uid: 1000, gid: 1000, mtime },
    { name: 'home/u/notes', body: 'hello\n', mode: 0o600, uid: 1000, gid: 1000, mtime },
    { name: 'lowerdir/', type: '5', mode: 0o755, mtime },
    { name: 'lowerdir/f', body: 'x', mode: 0o644, mtime },
    { name: 'gone', body: 'bye', mode: 0o644, mtime },
    ...extra,
  ]);
}

/**
 * An idmapped mount of argv[1] with the user namespace of argv[2] (open_tree, mount_setattr with
 * MOUNT_ATTR_IDMAP; the syscall numbers are the same on every architecture): prints ok or the errno.
 */
const IDMAP_PY = `import ctypes, os, errno, sys
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
fd = libc.syscall(428, ctypes.c_int(-100), sys.argv[1].encode(), ctypes.c_uint(1 | 0o2000000))
if fd < 0:
    print("open_tree", errno.errorcode[ctypes.get_errno()]); sys.exit()
class A(ctypes.Structure):
    _fields_ = [("set", ctypes.c_uint64), ("clr", ctypes.c_uint64), ("prop", ctypes.c_uint64), ("ns", ctypes.c_uint64)]
a = A(0x00100000, 0, 0, os.open(sys.argv[2], os.O_RDONLY))
r = libc.syscall(442, ctypes.c_int(fd), b"", ctypes.c_uint(0x1000), ctypes.byref(a), ctypes.c_size_t(32))
print("mount_setattr", "ok" if r == 0 else errno.errorcode[ctypes.get_errno()])
`;

function ok(r: { status: number | null; stdout: string; stderr: string }, what: string): string {
  if (r.status !== 0) throw new Error(`${what}: exit ${r.status}\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

describeIf(why === null, why ?? '')('rootless, a user with a subordinate range', () => {
  let u: TestUser;
  let chain: string;
  let id: string;
  let merged: string;
  const store = () => path.join(u.home, '.local/share/layerfs');
  beforeAll(() => {
    u = makeUser(true);
  });
  afterAll(() => removeUser(u));

  test(
    'import: the default store is private, in a user namespace with the subordinate mapping; files keep the image owners inside, shifted outside',
    () => {
      const tar = giveFile(u, 'base.tar', baseLayer());
      const r = cliAs(u, ['--json', 'import', tar]);
      chain = JSON.parse(ok(r, 'import')).chainId;
      const config = JSON.parse(fs.readFileSync(path.join(store(), 'store.json'), 'utf8'));
      expect(config.whiteout).toBe('overlay-userxattr');
      const sub = fs.readFileSync('/etc/subuid', 'utf8').split('\n').find((l) => l.startsWith(u.name + ':'))!.split(':').map(Number);
      expect(config.identity.uids).toEqual([
        { inside: 0, outside: u.uid, count: 1 },
        { inside: 1, outside: sub[1], count: sub[2] },
      ]);
      expect(fs.statSync(store()).mode & 0o777).toBe(0o700);
      // outside: 0 is the user, N is subuid + N - 1
      const diff = path.join(store(), 'layers', chain.slice(7), 'diff');
      const shadow = fs.statSync(path.join(diff, 'etc/shadow'));
      const gsub = fs.readFileSync('/etc/subgid', 'utf8').split('\n').find((l) => l.startsWith(u.name + ':'))!.split(':').map(Number);
      expect([shadow.uid, shadow.gid]).toEqual([u.uid, gsub[1] + 41]);
      const notes = fs.statSync(path.join(diff, 'home/u/notes'));
      expect([notes.uid, notes.gid]).toEqual([sub[1] + 999, gsub[1] + 999]);
      // inside: the image's own
      const inside = ok(cliAs(u, ['unshare', 'stat', '-c', '%u:%g %n', path.join(diff, 'etc/shadow'), path.join(diff, 'home/u/notes')]), 'unshare stat');
      expect(inside.trim().split('\n')).toEqual([`0:42 ${path.join(diff, 'etc/shadow')}`, `1000:1000 ${path.join(diff, 'home/u/notes')}`]);
    },
    T,
  );

  test(
    'an owner beyond the subordinate range is refused, naming the file and the ids, and nothing is kept',
    () => {
      const tar = giveFile(u, 'big-uid.tar', rawTar([{ name: 'opt/', type: '5', mode: 0o755 }, { name: 'opt/far', body: 'x', uid: 70000, gid: 70000 }]));
      const r = cliAs(u, ['--json', 'import', tar]);
      expect(r.status).toBe(1);
      expect(JSON.parse(r.stdout).error).toMatchObject({ code: 'LAYERFS_USERNS' });
      expect(JSON.parse(r.stdout).error.message).toMatch(/potentially insufficient UIDs or GIDs available in the user namespace \(requested 70000:70000 for "\/opt\/far"\)/);
      const ls = JSON.parse(ok(cliAs(u, ['--json', 'ls']), 'ls'));
      expect(ls.layers.map((l: { chainId: string }) => l.chainId)).toEqual([chain]);
    },
    T,
  );

  test(
    'an overlay container: mounted in the namespace (the path says so outside), changed inside `layerfs unshare`, diffed exactly',
    () => {
      const c = JSON.parse(ok(cliAs(u, ['--json', 'create', chain]), 'create'));
      id = c.id;
      expect(c.driver).toBe('overlay');
      const m = cliAs(u, ['mount', id]);
      merged = ok(m, 'mount').trim();
      expect(m.stderr).toMatch(/mounted in the store's user namespace, and seen only there: use it through `layerfs unshare`/);
      // outside, the mount point is an empty directory; inside, the tree
      expect(fs.readdirSync(merged)).toEqual([]);
      const script = [`cd ${merged}`, 'id -u', 'echo new > newfile', 'rm gone', 'echo more >> etc/shadow', 'stat -c %u:%g etc/shadow newfile home/u/notes', "awk '$1 == 0 { print $2 }' /proc/self/uid_map"].join(' && ');
      const inside = cliAs(u, ['unshare', 'sh', '-c', script]);
      expect(ok(inside, 'unshare').trim().split('\n')).toEqual(['0', '0:42', '0:0', '1000:1000', String(u.uid)]);
      // mount from inside the namespace: the path is good where it runs, so no warning
      const again = cliAs(u, ['unshare', process.execPath, path.resolve(__dirname, '../../bin/layerfs'), 'mount', id]);
      expect([ok(again, 'mount inside').trim(), again.stderr]).toEqual([merged, '']);
      const d = JSON.parse(ok(cliAs(u, ['--json', 'diff', id]), 'diff'));
      expect(d.changes.map((x: { kind: string; path: string }) => `${x.kind} ${x.path}`)).toEqual(['C /etc/shadow', 'D /gone', 'A /newfile']);
    },
    T,
  );

  test(
    'commit: the layer carries the image owners (0/0 for a new file, 0/42 for shadow), never the user or a subordinate id; export gives its bytes',
    async () => {
      const layer = JSON.parse(ok(cliAs(u, ['--json', 'commit', id]), 'commit'));
      const out = path.join(u.home, 'committed.tar');
      ok(cliAs(u, ['export', layer.chainId, '-o', out]), 'export');
      const listed = await listTar(out);
      const owners = Object.fromEntries(listed.map((e) => [e.name, `${e.uid}:${e.gid}`]));
      expect(owners).toMatchObject({ 'etc/shadow': '0:42', newfile: '0:0', '.wh.gone': '0:0' });
      for (const e of listed) expect([e.name, e.uid < 65536 && e.gid < 65536]).toEqual([e.name, true]);
      // no overlay xattr of the upper directory leaves with the layer (moby#47962)
      for (const e of listed) expect([e.name, Object.keys(e.pax).filter((k) => /overlay/.test(k))]).toEqual([e.name, []]);
      const fsck = JSON.parse(ok(cliAs(u, ['--json', 'fsck']), 'fsck'));
      expect(fsck.problems).toEqual([]);
      // layers and gc work as the user too: the report lists the chain's layers, and a gc frees
      // nothing a container or the new layer's chain still uses
      const report = JSON.parse(ok(cliAs(u, ['--json', 'layers', layer.chainId]), 'layers'));
      expect(report.layers.length).toBeGreaterThanOrEqual(2);
      ok(cliAs(u, ['--json', 'gc']), 'gc');
      expect(JSON.parse(ok(cliAs(u, ['--json', 'fsck']), 'fsck after gc')).problems).toEqual([]);
      expect(fs.existsSync(path.join(store(), 'layers', layer.chainId.slice(7)))).toBe(true);
    },
    T,
  );

  itIf(busyboxUnmet() === null && unmet(['runc', 'tar']).length === 0, busyboxUnmet() ?? unmet(['runc', 'tar']).join('; '))(
    'run: runc in the user namespace (rootless config, its state in the store): uid 0 inside, and what the process writes commits as the owners it gave (0/0, a chown to 42)',
    async () => {
      const work = fs.mkdtempSync(path.join(u.home, 'bb-'));
      makeBusyboxRoot(path.join(work, 'root'));
      const { spawnSync } = require('child_process') as typeof import('child_process');
      expect(spawnSync('tar', ['--numeric-owner', '-C', path.join(work, 'root'), '-cf', path.join(work, 'bb.tar'), '.']).status).toBe(0);
      spawnSync('chown', ['-R', `${u.uid}:${u.gid}`, work]);
      const bb = JSON.parse(ok(cliAs(u, ['--json', 'import', path.join(work, 'bb.tar')]), 'import busybox')).chainId;
      expect(ok(cliAs(u, ['run', '--rm', bb, 'sh', '-c', 'id -u; id -g; mkdir /sys/x 2>/dev/null && echo sys-writable || echo sys-ro']), 'run').trim().split('\n')).toEqual(['0', '0', 'sys-ro']);
      const r = JSON.parse(ok(cliAs(u, ['--json', 'run', '--commit', bb, 'sh', '-c', 'echo made > /made; chown 42:42 /home/user']), 'run --commit'));
      expect(r.exitCode).toBe(0);
      const out = path.join(u.home, 'run-commit.tar');
      ok(cliAs(u, ['export', r.chainId, '-o', out]), 'export');
      const owners = Object.fromEntries((await listTar(out)).map((e) => [e.name, `${e.uid}:${e.gid}`]));
      expect(owners).toMatchObject({ made: '0:0', 'home/user/': '42:42' });
      expect(fs.readdirSync(path.join(store(), 'runtime'))).toEqual([]);
    },
    T,
  );

  test(
    "the kernel's rules for userxattr overlays: redirect_dir and metacopy refused, a lower directory's rename is EXDEV (and mv's copy diffs right), an idmapped mount is EPERM",
    () => {
      const py = [
        'import os, errno, sys',
        `m = ${JSON.stringify(merged)}`,
        'try:',
        '    os.rename(m + "/lowerdir", m + "/moved")',
        '    print("renamed")',
        'except OSError as e:',
        '    print(errno.errorcode[e.errno])',
      ].join('\n');
      const lower = path.join(store(), 'layers', chain.slice(7), 'diff');
      const scratch = path.join(u.home, 'scratch');
      const idmap = giveFile(u, 'idmap.py', IDMAP_PY);
      ok(asUser(u, 'mkdir', ['-p', `${scratch}/u`, `${scratch}/w`, `${scratch}/m`]), 'mkdir');
      const script = [
        `python3 -c '${py}'`,
        `mv ${merged}/lowerdir ${merged}/moved && echo mv-copied`,
        `mount -t overlay x -o userxattr,redirect_dir=on,lowerdir=${lower},upperdir=${scratch}/u,workdir=${scratch}/w ${scratch}/m 2>/dev/null; echo redirect_dir=$?`,
        `mount -t overlay x -o userxattr,metacopy=on,lowerdir=${lower},upperdir=${scratch}/u,workdir=${scratch}/w ${scratch}/m 2>/dev/null; echo metacopy=$?`,
        `python3 ${idmap} ${lower} /proc/self/ns/user`,
      ].join('; ');
      const r = cliAs(u, ['unshare', 'sh', '-c', script]);
      expect(r.stdout.trim().split('\n')).toEqual(['EXDEV', 'mv-copied', 'redirect_dir=32', 'metacopy=32', 'mount_setattr EPERM']);
      // the control: root may idmap the same directory to the user's namespace
      const holder = JSON.parse(fs.readFileSync(path.join(store(), 'userns.json'), 'utf8')).pid;
      const { spawnSync } = require('child_process') as typeof import('child_process');
      expect(spawnSync('python3', [idmap, lower, `/proc/${holder}/ns/user`], { encoding: 'utf8' }).stdout.trim()).toBe('mount_setattr ok');
      const d = JSON.parse(ok(cliAs(u, ['--json', 'diff', id]), 'diff'));
      // the commit above took the upper directory as its layer and rebased the container on it: only what changed since
      expect(d.changes.map((x: { kind: string; path: string }) => `${x.kind} ${x.path}`)).toEqual(['D /lowerdir', 'A /moved', 'A /moved/f']);
    },
    T,
  );

  test(
    'the store is its maker\'s: root opening the user\'s store, the user opening a root store, and a program outside the namespace each get LAYERFS_USERNS',
    () => {
      const { spawnSync } = require('child_process') as typeof import('child_process');
      const asRoot = spawnSync(process.execPath, [path.resolve(__dirname, '../../bin/layerfs'), '--json', '--store', store(), 'ls'], { encoding: 'utf8' });
      expect(JSON.parse(asRoot.stdout).error).toMatchObject({ code: 'LAYERFS_USERNS' });
      expect(JSON.parse(asRoot.stdout).error.message).toMatch(new RegExp(`made by uid ${u.uid} in a user namespace .* opened by root: open it as uid ${u.uid}`));
      // a root store the user can reach the directory of
      const rootStore = path.join(u.home, 'root-store');
      ok(spawnSync(process.execPath, [path.resolve(__dirname, '../../bin/layerfs'), '--store', rootStore, 'ls'], { encoding: 'utf8' }), 'root ls');
      const byUser = cliAs(u, ['--json', '--store', rootStore, 'ls']);
      expect(JSON.parse(byUser.stdout).error).toMatchObject({ code: 'LAYERFS_USERNS' });
      expect(JSON.parse(byUser.stdout).error.message).toMatch(new RegExp(`cannot be opened by uid ${u.uid} \\(it was made by root\\)`));
      // the library, without enterUserNamespace: a clear error, not wrong owners
      const lib = path.resolve(__dirname, '../../dist/lib/index.js');
      const plain = asUser(u, process.execPath, ['-e', `require(${JSON.stringify(lib)}).LayerStore.open().then(() => console.log('opened'), (e) => console.log(e.code, e.message))`]);
      expect(plain.stdout).toMatch(/^LAYERFS_USERNS .*use the layerfs command, `layerfs unshare`, or call enterUserNamespace\(\) first/);
    },
    T,
  );

  test(
    'the library: a program that calls enterUserNamespace() runs again inside, and mounts an overlay container of its own',
    () => {
      const lib = path.resolve(__dirname, '../../dist/lib/index.js');
      const prog = giveFile(
        u,
        'prog.js',
        `const lfs = require(${JSON.stringify(lib)});
(async () => {
  await lfs.enterUserNamespace();
  const store = await lfs.LayerStore.open();
  const c = await store.createContainer(${JSON.stringify(chain)});
  const p = await c.mount();
  const fs = require('fs');
  console.log(JSON.stringify({ uid: process.getuid(), driver: c.driver, shadow: fs.statSync(p + '/etc/shadow').gid, cwd: process.cwd() }));
  await c.remove();
})().catch((e) => { console.error(e); process.exit(3); });`,
      );
      const r = asUser(u, process.execPath, [prog]);
      expect(JSON.parse(ok(r, 'program'))).toEqual({ uid: 0, driver: 'overlay', shadow: 42, cwd: u.home });
    },
    T,
  );
});

describeIf(why === null, why ?? '')('rootless, a user with no subordinate range (single-uid mode)', () => {
  let u: TestUser;
  let chain: string;
  let id: string;
  const store = () => path.join(u.home, '.local/share/layerfs');
  beforeAll(() => {
    u = makeUser(false);
  });
  afterAll(() => removeUser(u));

  test(
    'import: a warning says only the user is mapped; the image owners are kept in user.rootlesscontainers (umoci\'s encoding), and a layer\'s own copy of that xattr is not obeyed',
    () => {
      const forged = { name: 'etc/motd', body: 'hi\n', mode: 0o644, mtime: 1700000000, pax: { 'SCHILY.xattr.user.rootlesscontainers': Buffer.from([0x08, 0xd2, 0x09]) } };
      const tar = giveFile(u, 'base.tar', baseLayer([forged]));
      const r = cliAs(u, ['--json', 'import', tar]);
      chain = JSON.parse(ok(r, 'import')).chainId;
      expect(r.stderr).toMatch(/has no range in \/etc\/subuid: only uid \d+ is mapped \(to 0\) in the user namespace, so other owners of image files are kept in the user.rootlesscontainers xattr/);
      const config = JSON.parse(fs.readFileSync(path.join(store(), 'store.json'), 'utf8'));
      expect([config.whiteout, config.identity.uids]).toEqual(['overlay-userxattr', [{ inside: 0, outside: u.uid, count: 1 }]]);
      const diff = path.join(store(), 'layers', chain.slice(7), 'diff');
      // every file is the user's on the host, 0/0 inside; the xattr holds the image's owner
      for (const f of ['etc/shadow', 'home/u/notes', 'etc/motd']) expect([f, fs.statSync(path.join(diff, f)).uid]).toEqual([f, u.uid]);
      const x = ok(cliAs(u, ['unshare', 'sh', '-c', `cd ${diff} && for f in etc/shadow home/u/notes etc/motd etc/passwd; do echo "$f $(stat -c %u:%g $f) $(getfattr --only-values -e hex -n user.rootlesscontainers $f 2>/dev/null | od -An -tx1 | tr -d ' \\n')"; done`]), 'getfattr');
      expect(x.trim().split('\n').map((l) => l.trimEnd())).toEqual(['etc/shadow 0:0 102a', 'home/u/notes 0:0 08e80710e807', 'etc/motd 0:0', 'etc/passwd 0:0']);
    },
    T,
  );

  test(
    'an overlay container, changed inside; commit restores the image owners from the xattr (0/42, 1000/1000) and leaves the xattr behind',
    async () => {
      const c = JSON.parse(ok(cliAs(u, ['--json', 'create', chain]), 'create'));
      id = c.id;
      expect(c.driver).toBe('overlay');
      const merged = ok(cliAs(u, ['mount', id]), 'mount').trim();
      ok(cliAs(u, ['unshare', 'sh', '-c', `cd ${merged} && echo more >> etc/shadow && echo new > newfile && echo more >> home/u/notes && rm gone`]), 'change');
      const d = JSON.parse(ok(cliAs(u, ['--json', 'diff', id]), 'diff'));
      expect(d.changes.map((x: { kind: string; path: string }) => `${x.kind} ${x.path}`)).toEqual(['C /etc/shadow', 'D /gone', 'C /home/u/notes', 'A /newfile']);
      const layer = JSON.parse(ok(cliAs(u, ['--json', 'commit', id]), 'commit'));
      const out = path.join(u.home, 'committed.tar');
      ok(cliAs(u, ['export', layer.chainId, '-o', out]), 'export');
      const listed = await listTar(out);
      const owners = Object.fromEntries(listed.map((e) => [e.name, `${e.uid}:${e.gid}`]));
      expect(owners).toEqual({ 'etc/': '0:0', 'etc/shadow': '0:42', 'home/': '0:0', 'home/u/': '1000:1000', 'home/u/notes': '1000:1000', newfile: '0:0', '.wh.gone': '0:0' });
      for (const e of listed) expect([e.name, Object.keys(e.pax).filter((k) => /rootlesscontainers|overlay/.test(k))]).toEqual([e.name, []]);
    },
    T,
  );
});

describeIf(why === null, why ?? '')('rootless: a layer cannot forge overlayfs xattrs (user.overlay.*) under a userxattr mount', () => {
  let u: TestUser;
  beforeAll(() => {
    u = makeUser(true);
  });
  afterAll(() => removeUser(u));

  test(
    'user.overlay.opaque, .whiteout and .redirect in a layer are not applied: the lower files still show through the mount, and commit carries no user.overlay.*',
    async () => {
      const mtime = 1700000000;
      const base = JSON.parse(ok(cliAs(u, ['--json', 'import', giveFile(u, 'base.tar', baseLayer())]), 'import base')).chainId;
      const hostile = rawTar([
        { name: 'etc/', type: '5', mode: 0o755, mtime, pax: { 'SCHILY.xattr.user.overlay.opaque': 'y' } },
        { name: 'lowerdir/', type: '5', mode: 0o755, mtime, pax: { 'SCHILY.xattr.user.overlay.redirect': '/home' } },
        { name: 'decoy', body: '', mode: 0o644, mtime, pax: { 'SCHILY.xattr.user.overlay.whiteout': '' } },
      ]);
      const top = JSON.parse(ok(cliAs(u, ['--json', 'import', '--parent', base, giveFile(u, 'hostile.tar', hostile)]), 'import hostile')).chainId;
      const c = JSON.parse(ok(cliAs(u, ['--json', 'create', top]), 'create'));
      const merged = ok(cliAs(u, ['mount', c.id]), 'mount').trim();
      const seen = ok(cliAs(u, ['unshare', 'sh', '-c', `cd ${merged} && ls etc lowerdir && ls decoy && getfattr -d -m '^user[.]overlay' -R ${path.join(u.home, '.local/share/layerfs/layers', top.slice(7), 'diff')} | grep -c overlay || true`]), 'ls').trim().split('\n');
      expect(seen).toEqual(['etc:', 'passwd', 'shadow', '', 'lowerdir:', 'f', 'decoy', '0']);
      ok(cliAs(u, ['unshare', 'sh', '-c', `touch ${merged}/etc/passwd ${merged}/lowerdir/f`]), 'touch');
      const layer = JSON.parse(ok(cliAs(u, ['--json', 'commit', c.id]), 'commit'));
      const out = path.join(u.home, 'committed.tar');
      ok(cliAs(u, ['export', layer.chainId, '-o', out]), 'export');
      for (const e of await listTar(out)) expect([e.name, Object.keys(e.pax).filter((k) => /overlay/.test(k))]).toEqual([e.name, []]);
    },
    T,
  );

  test(
    'a holder that died (killed, not yet reaped) is not taken for alive: the next command starts another, its mounts were gone and the container mounts again',
    () => {
      const store = path.join(u.home, '.local/share/layerfs');
      const c = JSON.parse(ok(cliAs(u, ['--json', 'create', '--name', 'again', JSON.parse(ok(cliAs(u, ['--json', 'ls']), 'ls')).layers[0].chainId]), 'create'));
      const merged = ok(cliAs(u, ['mount', c.id]), 'mount').trim();
      const old = JSON.parse(fs.readFileSync(path.join(store, 'userns.json'), 'utf8'));
      process.kill(old.pid, 'SIGKILL');
      const listed = JSON.parse(ok(cliAs(u, ['--json', 'ls']), 'ls after the kill'));
      const now = JSON.parse(fs.readFileSync(path.join(store, 'userns.json'), 'utf8'));
      expect(now.pid).not.toBe(old.pid);
      expect(now.userNs).not.toBe(old.userNs);
      expect(listed.containers.find((x: { id: string }) => x.id === c.id)).toMatchObject({ mounted: false });
      expect(ok(cliAs(u, ['mount', c.id]), 'mount again').trim()).toBe(merged);
      expect(ok(cliAs(u, ['unshare', 'cat', path.join(merged, 'etc/passwd')]), 'read')).toBe('root:x:0:0::/root:/bin/sh\n');
    },
    T,
  );
});
