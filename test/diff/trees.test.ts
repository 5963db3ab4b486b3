import * as fs from 'fs';
import * as path from 'path';
import * as native from '../../lib/native';
import { UnionView } from '../../lib/view';
import { diffTrees, diffTreesAsync } from '../../lib/diff';
import { itIf } from '../fixtures/peers';
import { useTempDir } from '../fixtures/tmp';
import { T0, isRoot, hasAddon, lines, put } from './scripted';

const tmp = useTempDir('diff-trees');
let n = 0;
/** Two fresh directories a and b. */
function pair(): [string, string] {
  const base = path.join(tmp(), String(++n));
  const a = path.join(base, 'a');
  const b = path.join(base, 'b');
  fs.mkdirSync(a, { recursive: true });
  fs.mkdirSync(b);
  return [a, b];
}


const LATER = new Date(T0.getTime() + 60_000);

describe('diffTrees: metadata first, contents only when metadata cannot decide', () => {
  test('equal size and mtime are no proof: the bytes decide, unless both sides are one inode', () => {
    const [a, b] = pair();
    put(a, 'sneaky', 'AAAA');
    put(b, 'sneaky', 'BBBB');
    put(a, 'same', 'CCCC');
    put(b, 'same', 'CCCC');
    expect(diffTrees(a, b)).toMatchObject([{ kind: 'C', path: '/sneaky', what: ['content'] }]);
    expect(diffTrees(a, b, { compareContent: 'always' })).toEqual(diffTrees(a, b));
    // two chains that share a layer: its files are one inode on both sides
    const shared = new UnionView([a], 'oci');
    expect(diffTrees(shared, new UnionView([a], 'oci'))).toEqual([]);
    expect(lines(diffTrees(shared, new UnionView([b], 'oci')))).toEqual(['C /sneaky']);
  });

  test('equal size, different mtime: the contents decide; an mtime alone counts only when asked', () => {
    const [a, b] = pair();
    put(a, 'touched', 'same bytes');
    put(b, 'touched', 'same bytes', LATER);
    put(a, 'rewritten', 'old bytes!');
    put(b, 'rewritten', 'new bytes!', LATER);
    expect(diffTrees(a, b)).toMatchObject([{ path: '/rewritten', what: ['content'] }]);
    expect(diffTrees(a, b, { mtime: true })).toMatchObject([
      { path: '/rewritten', what: ['content'] },
      { path: '/touched', what: ['mtime'] },
    ]);
  });

  test('a different size is a change whatever the mtime; mode, owner, xattrs and link targets are compared', () => {
    const [a, b] = pair();
    put(a, 'grown', 'x');
    put(b, 'grown', 'xx');
    put(a, 'mode', 'm');
    put(b, 'mode', 'm', T0, 0o4755);
    fs.symlinkSync('one', path.join(a, 'lnk'));
    fs.symlinkSync('two', path.join(b, 'lnk'));
    const expected = [
      { path: '/grown', what: ['content'], size: 2 },
      { path: '/lnk', type: 'symlink', target: 'two', what: ['target'] },
      { path: '/mode', what: ['mode'], mode: 0o4755 },
    ];
    if (isRoot) {
      put(a, 'owner', 'o');
      put(b, 'owner', 'o');
      fs.chownSync(path.join(b, 'owner'), 7, 8);
      expected.push({ path: '/owner', what: ['owner'], uid: 7, gid: 8 } as never);
    }
    if (hasAddon) {
      put(a, 'xattr', 'x');
      native.lsetxattrSync(put(b, 'xattr', 'x'), 'user.k', 'v');
      expected.push({ path: '/xattr', what: ['xattrs'] } as never);
    }
    expect(diffTrees(a, b)).toMatchObject(expected);
  });

  test('added directories list their contents; a deleted one is listed alone; type changes', () => {
    const [a, b] = pair();
    put(a, 'gone/deep/x', 'x');
    put(b, 'new/deep/y', 'y');
    put(a, 'file-then-dir', 'f');
    put(b, 'file-then-dir/inside', 'i');
    put(a, 'dir-then-file/inside', 'i');
    put(b, 'dir-then-file', 'f');
    expect(lines(diffTrees(a, b))).toEqual(['C /dir-then-file', 'C /file-then-dir', 'A /file-then-dir/inside', 'D /gone', 'A /new', 'A /new/deep', 'A /new/deep/y']);
    expect(diffTrees(a, b).find((c) => c.path === '/gone')).toMatchObject({ kind: 'D', type: 'dir' });
    expect(diffTrees(a, b).find((c) => c.path === '/dir-then-file')).toMatchObject({ type: 'file', what: ['type'] });
  });

  test('the root is compared too; the order is the byte order of the paths', () => {
    const [a, b] = pair();
    for (const name of ['a-b', 'a/b', 'a.b', 'Z', 'é', '😀', '\uffff']) put(b, name, name);
    fs.chmodSync(b, 0o700);
    const changes = diffTrees(a, b);
    expect(changes[0]).toMatchObject({ kind: 'C', path: '/', what: ['mode'] });
    const paths = changes.map((c) => c.path);
    expect(paths).toEqual([...paths].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y))));
    expect(paths).toContain('/a/b');
  });

  test('a new name for an unchanged file makes it a change too (the layer keeps them one file)', () => {
    const [a, b] = pair();
    put(a, 'old', 'o');
    put(b, 'old', 'o');
    fs.linkSync(path.join(b, 'old'), path.join(b, 'new-name'));
    expect(diffTrees(a, b)).toMatchObject([
      { kind: 'A', path: '/new-name' },
      { kind: 'C', path: '/old', what: ['link'] },
    ]);
  });

  itIf(isRoot && hasAddon, 'device numbers need root and the addon')('devices: a new device number is a change of type', () => {
    const [a, b] = pair();
    native.mknodSync(path.join(a, 'dev'), fs.constants.S_IFCHR | 0o600, 1, 3);
    native.mknodSync(path.join(b, 'dev'), fs.constants.S_IFCHR | 0o600, 1, 5);
    expect(diffTrees(a, b)).toMatchObject([{ path: '/dev', type: 'char', what: ['type'] }]);
  });

  test('union views of chains are trees too, and the worker form agrees', async () => {
    const [l1, l2] = pair();
    put(l1, 'etc/motd', 'hello\n');
    put(l1, 'etc/gone', 'bye\n');
    put(l1, 'opq/old', 'old\n');
    put(l2, 'etc/.wh.gone', '');
    put(l2, 'opq/.wh..wh..opq', '');
    put(l2, 'opq/new', 'new\n');
    const lower = new UnionView([l1], 'oci');
    const upper = new UnionView([l1, l2], 'oci');
    expect(lines(diffTrees(lower, upper))).toEqual(['D /etc/gone', 'A /opq/new', 'D /opq/old']);
    const [dir] = pair();
    put(dir, 'etc/motd', 'hello\n');
    put(dir, 'opq/new', 'new\n');
    expect(diffTrees(upper, dir)).toEqual([]);
    expect(await diffTreesAsync(lower, upper)).toEqual(diffTrees(lower, upper));
    expect(await diffTreesAsync(l1, dir, { compareContent: 'always' })).toEqual(diffTrees(l1, dir, { compareContent: 'always' }));
    // an empty chain: everything is added
    expect(lines(diffTrees(new UnionView([], 'oci'), dir))).toEqual(['A /etc', 'A /etc/motd', 'A /opq', 'A /opq/new']);
  });
});
