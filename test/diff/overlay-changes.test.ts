import * as fs from 'fs';
import * as path from 'path';
import { execFileSync } from 'child_process';
import * as native from '../../lib/native';
import { UnionView } from '../../lib/view';
import { diffTrees, overlayChanges, overlayChangesAsync } from '../../lib/diff';
import { OverBudgetError } from '../../lib/diff/overlay-changes';
import type { WhiteoutFormatName } from '../../lib/store/types';
import { itIf } from '../fixtures/peers';
import { useTempDir } from '../fixtures/tmp';
import { T0, isRoot, hasAddon, lines, put } from './scripted';

/**
 * overlayChanges on upperdirs made by hand over layer directories: what the kernel would leave
 * (whiteouts, opaque directories, copy-ups), in the overlay format (as root, with the addon) and
 * in the oci format of a layer directory.
 */
const tmp = useTempDir('overlay-changes');
let n = 0;
const LATER = new Date(T0.getTime() + 60_000);


/** The lower layer every test starts from. */
function lowerLayer(dir: string): void {
  put(dir, 'etc/motd', 'hello\n');
  put(dir, 'etc/hosts', 'localhost\n');
  put(dir, 'etc/gone', 'gone\n');
  put(dir, 'var/log/a', 'a\n');
  put(dir, 'opq/a', 'a\n');
  put(dir, 'opq/keep', 'keep\n');
  put(dir, 'opq/sub/x', 'x\n');
  put(dir, 'file', 'f\n');
  put(dir, 'dir/inner', 'i\n');
}

const canOverlayFormat = isRoot && hasAddon;
if (!canOverlayFormat) console.warn('overlayChanges: the overlay whiteout format is tested only as root with the addon');
const formats: WhiteoutFormatName[] = canOverlayFormat ? ['overlay', 'oci'] : ['oci'];

describe.each(formats)('overlayChanges over hand-made upperdirs (%s whiteouts)', (format) => {
  /** A lower layer, an empty upper one, and the format's whiteout and opaque writers. */
  function setup() {
    const base = path.join(tmp(), `${format}-${++n}`);
    const lower = path.join(base, 'lower');
    const upper = path.join(base, 'upper');
    lowerLayer(lower);
    fs.mkdirSync(upper, { recursive: true });
    const view = new UnionView([lower], format);
    const whiteout = (rel: string) => {
      const p = path.join(upper, rel);
      fs.mkdirSync(path.dirname(p), { recursive: true });
      if (format === 'oci') fs.writeFileSync(path.join(path.dirname(p), '.wh.' + path.basename(p)), '');
      else native.mknodSync(p, fs.constants.S_IFCHR, 0, 0);
    };
    const opaque = (rel: string) => {
      const p = path.join(upper, rel);
      fs.mkdirSync(p, { recursive: true });
      if (format === 'oci') fs.writeFileSync(path.join(p, '.wh..wh..opq'), '');
      else native.lsetxattrSync(p, 'trusted.overlay.opaque', 'y');
    };
    /** What overlayfs does on a copy-up: the file with its metadata (and its parents). */
    const copyUp = (rel: string) => {
      fs.mkdirSync(path.dirname(path.join(upper, rel)), { recursive: true });
      execFileSync('cp', ['-a', path.join(lower, rel), path.join(upper, rel)]);
    };
    const diff = () => overlayChanges(upper, view, format);
    return { lower, upper, view, whiteout, opaque, copyUp, diff };
  }

  test('an empty upperdir, or copy-ups left as they were, give no changes', () => {
    const s = setup();
    expect(s.diff()).toEqual([]);
    s.copyUp('etc/motd');
    s.copyUp('dir');
    expect(s.diff()).toEqual([]);
  });

  test('an upper file of the lower size is compared by its bytes, whatever its mtime', () => {
    const s = setup();
    // same size, same mtime, other bytes (cp -p, rsync -a, tar -x): a change of content
    put(s.upper, 'etc/motd', 'HELLO\n');
    expect(s.diff()).toMatchObject([{ kind: 'C', path: '/etc/motd', what: ['content'] }]);
    // same size, same mtime, same bytes: a copy-up left as it was
    put(s.upper, 'etc/motd', 'hello\n');
    expect(s.diff()).toEqual([]);
    // same size and bytes, new mtime: the mtime is what changed
    put(s.upper, 'etc/motd', 'hello\n', LATER);
    expect(s.diff()).toMatchObject([{ kind: 'C', path: '/etc/motd', what: ['mtime'] }]);
    put(s.upper, 'etc/motd', 'HELLO\n', LATER);
    expect(s.diff()).toMatchObject([{ kind: 'C', path: '/etc/motd', what: ['content'] }]);
    put(s.upper, 'etc/motd', 'hello, longer\n');
    expect(s.diff()).toMatchObject([{ kind: 'C', path: '/etc/motd', what: ['content'], size: 14 }]);
  });

  test('a file renamed over the lower one with its size and mtime, a symlink of a same-length target, an xattr alone: each a change', () => {
    const s = setup();
    const tmpFile = put(s.upper, 'etc/.motd.tmp', 'HeLLo\n');
    fs.renameSync(tmpFile, path.join(s.upper, 'etc/motd'));
    fs.symlinkSync('x', path.join(s.lower, 'lnk'));
    fs.lutimesSync(path.join(s.lower, 'lnk'), T0, T0);
    fs.symlinkSync('y', path.join(s.upper, 'lnk'));
    fs.lutimesSync(path.join(s.upper, 'lnk'), T0, T0);
    const expected: Array<Record<string, unknown>> = [
      { kind: 'C', path: '/etc/motd', what: ['content'] },
      { kind: 'C', path: '/lnk', what: ['target'], target: 'y' },
    ];
    if (hasAddon) {
      s.copyUp('etc/hosts');
      native.lsetxattrSync(path.join(s.upper, 'etc/hosts'), 'user.only', 'this');
      fs.utimesSync(path.join(s.upper, 'etc/hosts'), T0, T0);
      expected.splice(0, 0, { kind: 'C', path: '/etc/hosts', what: ['xattrs'] });
    }
    expect(s.diff()).toMatchObject(expected);
  });

  test('reading to compare counts against the read budget', () => {
    const s = setup();
    put(s.upper, 'etc/motd', 'HELLO\n');
    expect(() => overlayChanges(s.upper, s.view, format, { readBudget: 5 })).toThrow(OverBudgetError);
    expect(overlayChanges(s.upper, s.view, format, { readBudget: 6 })).toEqual(s.diff());
  });

  test('whiteouts: of a lower file or directory, a deletion with what it deleted; of nothing lower, nothing', () => {
    const s = setup();
    s.whiteout('etc/gone');
    s.whiteout('var/log');
    s.whiteout('never-was');
    s.whiteout('etc/never-was');
    expect(s.diff()).toMatchObject([
      { kind: 'D', path: '/etc/gone', type: 'file', size: 5 },
      { kind: 'D', path: '/var/log', type: 'dir' },
    ]);
    expect(s.diff().every((c) => c.source === undefined)).toBe(true);
  });

  test('an opaque directory hides the lower children: each is deleted unless an upper one has its name, at every depth', () => {
    const s = setup();
    s.opaque('opq');
    put(s.upper, 'opq/keep', 'keep\n'); // as the lower one: no change of its own
    put(s.upper, 'opq/new', 'new\n');
    fs.mkdirSync(path.join(s.upper, 'opq/sub'));
    s.whiteout('opq/a'); // redundant under the opaque directory: no second report
    expect(lines(s.diff())).toEqual(['C /opq', 'D /opq/a', 'A /opq/new', 'C /opq/sub', 'D /opq/sub/x']);
    expect(s.diff().filter((c) => c.opaque).map((c) => c.path)).toEqual(['/opq', '/opq/sub']);
    expect(s.diff()[0].what).toEqual(['recreated']);
  });

  test('new directories and type changes', () => {
    const s = setup();
    put(s.upper, 'new/deep/f', 'f');
    fs.mkdirSync(path.join(s.upper, 'file'));
    put(s.upper, 'file/x', 'x');
    put(s.upper, 'dir', 'now a file');
    // a new directory over a whiteout is opaque in overlayfs: with nothing lower it is just added
    s.opaque('brand-new');
    expect(lines(s.diff())).toEqual(['A /brand-new', 'C /dir', 'C /file', 'A /file/x', 'A /new', 'A /new/deep', 'A /new/deep/f']);
    expect(s.diff().find((c) => c.path === '/brand-new')!.opaque).toBeUndefined();
  });

  test('a new name for a copied-up file reports the file too', () => {
    const s = setup();
    s.copyUp('etc/hosts');
    fs.linkSync(path.join(s.upper, 'etc/hosts'), path.join(s.upper, 'hosts-link'));
    expect(s.diff()).toMatchObject([
      { kind: 'C', path: '/etc/hosts', what: ['link'] },
      { kind: 'A', path: '/hosts-link' },
    ]);
  });

  test('a budget stops a walk that would cost more; the async form gives the same answer', async () => {
    const s = setup();
    for (let i = 0; i < 10; i++) put(s.upper, `many/f${i}`, String(i));
    s.whiteout('etc/gone');
    expect(() => overlayChanges(s.upper, s.view, format, { budget: 5 })).toThrow(OverBudgetError);
    expect(overlayChanges(s.upper, s.view, format, { budget: 100 })).toEqual(s.diff());
    expect(await overlayChangesAsync(s.upper, s.view, format)).toEqual(s.diff());
  });

  if (format === 'oci') {
    test('a layer directory may hold a name and its whiteout: the name survives, so it is a change', () => {
      const s = setup();
      s.whiteout('etc/motd');
      put(s.upper, 'etc/motd', 'replaced\n', LATER);
      expect(lines(s.diff())).toEqual(['C /etc/motd']);
    });
  }
});

describe('overlayChanges with redirect or metacopy xattrs', () => {
  itIf(hasAddon, 'xattrs need the addon')('refuses to guess from the upperdir alone', () => {
    const base = path.join(tmp(), `redirect-${++n}`);
    lowerLayer(path.join(base, 'lower'));
    const upper = path.join(base, 'upper');
    fs.mkdirSync(path.join(upper, 'moved'), { recursive: true });
    native.lsetxattrSync(path.join(upper, 'moved'), isRoot ? 'trusted.overlay.redirect' : 'user.overlay.redirect', '/dir');
    const view = new UnionView([path.join(base, 'lower')], 'oci');
    expect(() => overlayChanges(upper, view, 'oci')).toThrow(/redirect or metacopy xattrs .*overlay\.redirect on .*moved.*mount/);
    expect(() => overlayChanges(upper, view, 'oci', { merged: base })).toThrow(expect.objectContaining({ code: 'LAYERFS_UNSUPPORTED' }));
    expect(() => overlayChanges(upper, view, 'oci', { budget: 1000 })).toThrow(OverBudgetError);
  });

  itIf(isRoot && hasAddon, 'mounting needs root and the addon')('compares the mounted merged tree in full instead', () => {
    const base = path.join(tmp(), `redirect-mount-${++n}`);
    const lower = path.join(base, 'lower');
    const upper = path.join(base, 'upper');
    const work = path.join(base, 'work');
    const merged = path.join(base, 'merged');
    lowerLayer(lower);
    for (const d of [upper, work, merged]) fs.mkdirSync(d);
    native.mountSync('overlay', merged, 'overlay', 0, `lowerdir=${lower},upperdir=${upper},workdir=${work},redirect_dir=on,index=off,metacopy=off`);
    try {
      // a lower directory renamed: with redirect_dir=on overlayfs records it as an xattr, not a copy
      fs.renameSync(path.join(merged, 'dir'), path.join(merged, 'renamed'));
      fs.writeFileSync(path.join(merged, 'etc/motd'), 'changed\n');
      const xattrs = native.llistxattrSync(path.join(upper, 'renamed'));
      expect(xattrs).toContain('trusted.overlay.redirect');
      const view = new UnionView([lower], 'overlay');
      const changes = overlayChanges(upper, view, 'overlay', { merged });
      expect(lines(changes)).toEqual(['D /dir', 'C /etc/motd', 'A /renamed', 'A /renamed/inner']);
      expect(changes).toEqual(diffTrees(view, merged, { mtime: true }));
      expect(changes.find((c) => c.path === '/renamed/inner')!.source).toBe(path.join(merged, 'renamed/inner'));
    } finally {
      native.umount2Sync(merged);
    }
  });
});
