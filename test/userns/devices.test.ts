import * as fs from 'fs';
import * as path from 'path';
import { rawTar } from '../fixtures/hostile-tar';
import { plainTar } from '../container/tar-listing';
import { describeIf } from '../fixtures/peers';
import { cliAs, giveFile, makeUser, removeUser, rootlessUnmet, TestUser } from './users';

/**
 * Device nodes as an ordinary user: no user namespace may mknod one, so each is an empty file
 * that records the device in user.layerfs.device (lib/userns/owner-xattr.ts), and every pack in
 * the namespace gives the device entry back: commit and export carry the image's devices, and a
 * layer cannot set the record itself. Single-uid mode (no subordinate range), where the owners
 * are kept in user.rootlesscontainers too.
 */
const why = rootlessUnmet();
const T = 120_000;

function ok(r: { status: number | null; stdout: string; stderr: string }, what: string): string {
  if (r.status !== 0) throw new Error(`${what}: exit ${r.status}\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/** The entries of a tar (plain or compressed): name type mode uid:gid major:minor, and the names of its pax xattrs. */
function entries(file: string): string[] {
  const b = plainTar(fs.readFileSync(file));
  const out: string[] = [];
  let pax: string[] = [];
  for (let o = 0; o + 512 <= b.length; ) {
    const h = b.subarray(o, o + 512);
    if (h.every((x) => x === 0)) break;
    const str = (a: number, n: number) => h.toString('latin1', a, a + n).replace(/\0.*$/s, '');
    const num = (a: number, n: number) => parseInt(str(a, n).trim() || '0', 8);
    const size = num(124, 12);
    const type = str(156, 1) || '0';
    const body = b.subarray(o + 512, o + 512 + size);
    if (type === 'x') {
      pax = body.toString('latin1').split('\n').filter(Boolean).map((l) => l.slice(l.indexOf(' ') + 1).split('=')[0]);
    } else {
      out.push(`${str(0, 100)} ${type} ${num(100, 8).toString(8)} ${num(108, 8)}:${num(116, 8)} ${num(329, 8)}:${num(337, 8)}${pax.length ? ' ' + pax.join(',') : ''}`);
      pax = [];
    }
    o += 512 + Math.ceil(size / 512) * 512;
  }
  return out;
}

describeIf(why === null, why ?? '')('device nodes in a user namespace (single-uid mode)', () => {
  let u: TestUser;
  let chain: string;
  beforeAll(() => {
    u = makeUser(false);
  });
  afterAll(() => removeUser(u));
  const store = () => path.join(u.home, '.local/share/layerfs');

  test(
    'import keeps each device as an empty file with its record (no warning); a layer\'s own record is not obeyed',
    () => {
      const mtime = 1700000000;
      const tar = giveFile(
        u,
        'devs.tar',
        rawTar([
          { name: 'dev/', type: '5', mode: 0o755, mtime },
          { name: 'dev/null', type: '3', devmajor: 1, devminor: 3, mode: 0o666, mtime },
          { name: 'dev/sda', type: '4', devmajor: 8, devminor: 0, mode: 0o660, gid: 6, mtime },
          { name: 'dev/null2', type: '1', linkname: 'dev/null', mtime },
          { name: 'dev/fake', body: '', mode: 0o644, mtime, pax: { 'SCHILY.xattr.user.layerfs.device': 'b 8 0' } },
        ]),
      );
      const r = cliAs(u, ['--json', 'import', tar]);
      chain = JSON.parse(ok(r, 'import')).chainId;
      expect(r.stderr).not.toMatch(/skipped/);
      const diff = path.join(store(), 'layers', chain.slice(7), 'diff');
      const x = ok(cliAs(u, ['unshare', 'sh', '-c', `cd ${diff}/dev && for f in null sda null2 fake; do echo "$f $(stat -c '%F %a %h' $f) $(getfattr --only-values -n user.layerfs.device $f 2>/dev/null)"; done`]), 'stat');
      expect(x.trim().split('\n').map((l) => l.trimEnd())).toEqual(['null regular empty file 666 2 c 1 3', 'sda regular empty file 660 1 b 8 0', 'null2 regular empty file 666 2 c 1 3', 'fake regular empty file 644 1']);
      ok(cliAs(u, ['fsck']), 'fsck');
    },
    T,
  );

  test(
    'commit gives the device back (after a chmod or a touch inside; the owner from user.rootlesscontainers), export carries it, and no record leaves the store',
    () => {
      const c = JSON.parse(ok(cliAs(u, ['--json', 'create', chain]), 'create'));
      const merged = ok(cliAs(u, ['mount', c.id]), 'mount').trim();
      ok(cliAs(u, ['unshare', 'sh', '-c', `cd ${merged}/dev && chmod 600 null && touch -m -d @1700000100 sda && echo x > new`]), 'change');
      const d = JSON.parse(ok(cliAs(u, ['--json', 'diff', c.id]), 'diff'));
      // (overlay's copy-up breaks the hardlink: null2 is still the lower one)
      expect(d.changes.map((x: { kind: string; path: string }) => `${x.kind} ${x.path}`)).toEqual(['A /dev/new', 'C /dev/null', 'C /dev/sda']);
      const layer = JSON.parse(ok(cliAs(u, ['--json', 'commit', c.id]), 'commit'));
      const out = path.join(u.home, 'committed.tar');
      ok(cliAs(u, ['export', layer.chainId, '-o', out]), 'export');
      const got = entries(out);
      expect(got).toEqual(expect.arrayContaining(['dev/null 3 600 0:0 1:3', 'dev/sda 4 660 0:6 8:0']));
      for (const e of got) expect(e).not.toMatch(/layerfs|rootlesscontainers/);
      // the new layer as a lower one: its devices are records again
      ok(cliAs(u, ['fsck']), 'fsck');
    },
    T,
  );
});
