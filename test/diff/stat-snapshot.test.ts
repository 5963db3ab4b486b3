import * as fs from 'fs';
import * as path from 'path';
import { execFileSync } from 'child_process';
import * as native from '../../lib/native';
import { UnionView } from '../../lib/view';
import { snapshotChanges, snapshotChangesAsync, writeStatSnapshotSync } from '../../lib/diff';
import { writeStatSnapshotByWalkSync } from '../../lib/diff/stat-snapshot';
import { useTempDir } from '../fixtures/tmp';
import { T0, isRoot, hasAddon, lines, put } from './scripted';

/**
 * snapshotChanges on a copy made by hand (`cp -a` of a layer directory, as the copy driver
 * materialises a chain), against the manifest written right after the copy.
 */
const tmp = useTempDir('manifest');
let n = 0;


/** A layer, its copy and the copy's manifest. */
function setup(fill?: (layer: string) => void) {
  const base = path.join(tmp(), String(++n));
  const layer = path.join(base, 'layer');
  put(layer, 'etc/motd', 'hello\n');
  put(layer, 'etc/hosts', 'localhost\n');
  put(layer, 'etc/gone', 'gone\n');
  put(layer, 'var/log/a', 'a\n');
  put(layer, 'rec/old', 'old\n');
  put(layer, 'rec/keep', 'keep\n');
  put(layer, 'rec/sub/x', 'x\n');
  put(layer, 'file', 'f\n');
  put(layer, 'dir/inner', 'i\n');
  put(layer, 'moved', 'm\n');
  fs.symlinkSync('etc/motd', path.join(layer, 'lnk'));
  fs.lutimesSync(path.join(layer, 'lnk'), T0, T0);
  fill?.(layer);
  const root = path.join(base, 'root');
  execFileSync('cp', ['-a', layer, root]);
  const manifest = path.join(base, 'manifest');
  writeStatSnapshotSync(root, manifest);
  const view = new UnionView([layer], 'oci');
  const p = (rel: string) => path.join(root, rel);
  return { root, manifest, view, p, diff: () => snapshotChanges(root, manifest, view) };
}

describe('snapshotChanges: a copy against the stat snapshot taken when it was made', () => {
  test('nothing changed, or only what leaves things as they were (rename and back, open for write, chmod and back)', () => {
    const s = setup();
    expect(s.diff()).toEqual([]);
    fs.renameSync(s.p('moved'), s.p('moved.tmp'));
    fs.renameSync(s.p('moved.tmp'), s.p('moved'));
    fs.closeSync(fs.openSync(s.p('etc/motd'), 'r+'));
    fs.chmodSync(s.p('file'), 0o600);
    fs.chmodSync(s.p('file'), 0o644);
    fs.writeFileSync(s.p('etc/tmp'), 'x');
    fs.rmSync(s.p('etc/tmp'));
    expect(s.diff()).toEqual([]);
  });

  test('metadata and contents', () => {
    const s = setup();
    fs.chmodSync(s.p('file'), 0o700);
    fs.appendFileSync(s.p('etc/motd'), 'more\n');
    // written to, same size: its mtime moved, so it is new content without a read
    fs.writeFileSync(s.p('etc/hosts'), 'LOCALHOST\n');
    fs.unlinkSync(s.p('lnk'));
    fs.symlinkSync('etc/hosts', s.p('lnk'));
    const expected = ['C /etc/hosts', 'C /etc/motd', 'C /file', 'C /lnk'];
    if (isRoot) {
      fs.lchownSync(s.p('dir/inner'), 5, 6);
      expected.unshift('C /dir/inner');
    }
    if (hasAddon) {
      native.lsetxattrSync(s.p('moved'), 'user.k', 'v');
      expected.push('C /moved');
    }
    const changes = s.diff();
    expect(lines(changes)).toEqual(expected);
    const by = new Map(changes.map((c) => [c.path, c]));
    expect(by.get('/file')!.what).toEqual(['mode']);
    expect(by.get('/etc/hosts')!.what).toEqual(['content']);
    expect(by.get('/etc/motd')).toMatchObject({ what: ['content'], size: 11 });
    expect(by.get('/lnk')).toMatchObject({ target: 'etc/hosts', what: ['target', 'mtime'] });
    if (isRoot) expect(by.get('/dir/inner')).toMatchObject({ what: ['owner'], uid: 5, gid: 6 });
    if (hasAddon) expect(by.get('/moved')!.what).toEqual(['xattrs']);
  });

  test('a file rewritten with its size and mtime kept (cp -p, a rename over it) is read and held against the chain', () => {
    const s = setup();
    // in place, as cp -p does: the inode stays, its ctime moves
    put(s.root, 'etc/motd', 'HELLO\n');
    // a new inode renamed over the file, as rsync and install do
    const tmpFile = put(s.root, 'etc/.hosts.tmp', 'LOCALHOST\n');
    fs.renameSync(tmpFile, s.p('etc/hosts'));
    // the same bytes again, by rename: no change
    fs.renameSync(put(s.root, '.file.tmp', 'f\n'), s.p('file'));
    // a symlink made again with a same-length target and the old mtime
    fs.unlinkSync(s.p('lnk'));
    fs.symlinkSync('etc/MOTD', s.p('lnk'));
    fs.lutimesSync(s.p('lnk'), T0, T0);
    const changes = s.diff();
    expect(lines(changes)).toEqual(['C /etc/hosts', 'C /etc/motd', 'C /lnk']);
    expect(changes.map((c) => c.what)).toEqual([['content'], ['content'], ['target']]);
  });

  test('deletions: the topmost path of what went, with its recorded metadata', () => {
    const s = setup();
    fs.rmSync(s.p('etc/gone'));
    fs.rmSync(s.p('var'), { recursive: true });
    expect(s.diff()).toEqual([
      { kind: 'D', path: '/etc/gone', type: 'file', size: 5, mode: 0o644, uid: fs.statSync(s.root).uid, gid: fs.statSync(s.root).gid, mtime: T0.getTime() / 1000 },
      expect.objectContaining({ kind: 'D', path: '/var', type: 'dir' }),
    ]);
  });

  test('a directory removed and made again (a new inode, even a reused inode number) is opaque; its old children are deleted', () => {
    const s = setup();
    fs.rmSync(s.p('rec'), { recursive: true });
    fs.mkdirSync(s.p('rec/sub'), { recursive: true });
    fs.writeFileSync(s.p('rec/keep'), 'keep\n');
    fs.writeFileSync(s.p('rec/new'), 'new\n');
    const changes = s.diff();
    expect(lines(changes)).toEqual(['C /rec', 'C /rec/keep', 'A /rec/new', 'D /rec/old', 'C /rec/sub', 'D /rec/sub/x']);
    expect(changes.filter((c) => c.opaque).map((c) => c.path)).toEqual(['/rec', '/rec/sub']);
    expect(changes[0].what).toEqual(['recreated']);
  });

  test('type changes, new directories, and a new name for a file of the chain', () => {
    const s = setup();
    fs.rmSync(s.p('file'));
    put(s.root, 'file/x', 'x');
    fs.rmSync(s.p('dir'), { recursive: true });
    put(s.root, 'dir', 'now a file');
    put(s.root, 'new/deep/f', 'f');
    fs.linkSync(s.p('etc/hosts'), s.p('hosts-link'));
    expect(lines(s.diff())).toEqual(['C /dir', 'C /etc/hosts', 'C /file', 'A /file/x', 'A /hosts-link', 'A /new', 'A /new/deep', 'A /new/deep/f']);
    expect(s.diff().find((c) => c.path === '/etc/hosts')!.what).toEqual(['link']);
  });

  test('names with tabs, newlines, backslashes and beyond ASCII; a manifest larger than its read chunk', async () => {
    const names = ['tab\there', 'new\nline', 'back\\slash', 'naïve', '😀', '\\n'];
    const long = 'l'.repeat(240);
    const s = setup((layer) => {
      for (const name of names) put(layer, `odd/${name}`, name);
      fs.mkdirSync(path.join(layer, 'big'));
      for (let i = 0; i < 3200; i++) fs.writeFileSync(path.join(layer, 'big', `${long}-${i}`), '');
    });
    expect(fs.statSync(s.manifest).size).toBeGreaterThan(1 << 20);
    expect(s.diff()).toEqual([]);
    for (const name of names) fs.appendFileSync(s.p(`odd/${name}`), '!');
    fs.rmSync(s.p(`big/${long}-2345`));
    const expected = [`D /big/${long}-2345`, ...names.map((name) => `C /odd/${name}`)].sort((a, b) => Buffer.compare(Buffer.from(a.slice(2)), Buffer.from(b.slice(2))));
    expect(lines(s.diff())).toEqual(expected);
    expect(await snapshotChangesAsync(s.root, s.manifest, s.view)).toEqual(s.diff());
  });

  test('a file that is not a manifest is refused, naming it', () => {
    const s = setup();
    fs.writeFileSync(s.manifest, '"/"\t1\t2\n');
    expect(() => s.diff()).toThrow(expect.objectContaining({ code: 'LAYERFS_INVALID_ARGUMENT', message: expect.stringContaining(s.manifest) }));
  });
});

test('a symlink that is no longer one when its target is read (a container changing meanwhile) is LAYERFS_CHANGED_MEANWHILE, naming it', () => {
  const root = fs.mkdtempSync(path.join(require('os').tmpdir(), 'layerfs-snap-race-'));
  try {
    fs.mkdirSync(path.join(root, 'd'));
    fs.symlinkSync('target', path.join(root, 'd', 'link'));
    // what readlink says of a path that a directory took meanwhile
    // the module object itself (the namespace import is not writable); the library reads through it
    const spy = jest.spyOn(require('fs') as typeof fs, 'readlinkSync').mockImplementation(() => {
      throw Object.assign(new Error('EINVAL: invalid argument, readlink'), { code: 'EINVAL' });
    });
    try {
      expect(() => writeStatSnapshotByWalkSync(root, path.join(root, 'manifest'))).toThrow(expect.objectContaining({ code: 'LAYERFS_CHANGED_MEANWHILE', message: expect.stringContaining('"/d/link": it was a symlink when listed and is not one now') }));
    } finally {
      spy.mockRestore();
    }
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});
