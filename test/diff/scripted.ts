import * as fs from 'fs';
import * as path from 'path';
import * as native from '../../lib/native';
import { packToFile } from '../../lib/tar/pack-in-worker';
import type { LayerCore } from '../../lib/layers';
import { removeTempDir } from '../fixtures/tmp';

/**
 * The fixture chain and the scripted change the diff and commit tests share.
 *
 * l1: /etc/{hosts,motd,gone}, /var/log/{a,b}.log, /recreate/{old,kept-name,sub/deep}, /chmod-me,
 *     /chown-me, /to-dir (file), /from-dir/inner, /untouched, /moved, /reverted, /xattr-me
 *     (user.base=1), /link -> etc/hosts, /bin/sh and /bin/ash (one file), /opq/a, /l1-only
 * l2: deletes /l1-only (a whiteout), makes /opq opaque holding only /opq/b, adds /etc/l2-file
 * Everything's mtime is T0.
 */
export const T0 = new Date('2021-05-06T07:08:09Z');
export const isRoot = process.getuid?.() === 0;
export const hasAddon = native.available();

/** Writes a file (and its parents) with the given mode and mtime; returns its path. */
export function put(root: string, rel: string, content: string, mtime: Date = T0, mode = 0o644): string {
  const p = path.join(root, rel);
  fs.mkdirSync(path.dirname(p), { recursive: true });
  fs.writeFileSync(p, content);
  fs.chmodSync(p, mode);
  fs.utimesSync(p, mtime, mtime);
  return p;
}

/** Sets every mtime under `root` (deepest first) to T0. */
export function settle(root: string): void {
  const walk = (p: string) => {
    if (fs.lstatSync(p).isDirectory()) for (const n of fs.readdirSync(p)) walk(path.join(p, n));
    fs.lutimesSync(p, T0, T0);
  };
  walk(root);
}

/** Writes the fixture's two layer tarballs (uncompressed) into `work`; returns their paths, bottom first. */
export async function writeBaseTars(work: string): Promise<string[]> {
  const l1 = path.join(work, 'l1-src');
  put(l1, 'etc/hosts', '127.0.0.1 localhost\n');
  put(l1, 'etc/motd', 'welcome\n');
  put(l1, 'etc/gone', 'delete me\n');
  put(l1, 'var/log/a.log', 'a\n');
  put(l1, 'var/log/b.log', 'b\n');
  put(l1, 'recreate/old', 'old\n');
  put(l1, 'recreate/kept-name', 'old content\n');
  put(l1, 'recreate/sub/deep', 'deep\n');
  put(l1, 'chmod-me', 'x\n');
  put(l1, 'chown-me', 'x\n');
  put(l1, 'to-dir', 'file\n');
  put(l1, 'from-dir/inner', 'inner\n');
  put(l1, 'untouched', 'same\n');
  put(l1, 'moved', 'move me and back\n');
  put(l1, 'reverted', 'chmod and back\n');
  put(l1, 'xattr-me', 'x\n');
  put(l1, 'bin/sh', '#!/bin/sh\n', T0, 0o755);
  fs.linkSync(path.join(l1, 'bin/sh'), path.join(l1, 'bin/ash'));
  put(l1, 'opq/a', 'a\n');
  put(l1, 'l1-only', 'l1\n');
  fs.symlinkSync('etc/hosts', path.join(l1, 'link'));
  if (hasAddon) native.lsetxattrSync(path.join(l1, 'xattr-me'), 'user.base', '1');
  settle(l1);

  const l2 = path.join(work, 'l2-src');
  put(l2, '.wh.l1-only', '');
  put(l2, 'opq/.wh..wh..opq', '');
  put(l2, 'opq/b', 'b\n');
  put(l2, 'etc/l2-file', 'l2\n');
  settle(l2);

  const tars: string[] = [];
  for (const [i, src] of [l1, l2].entries()) {
    const tar = path.join(work, `l${i + 1}.tar`);
    // the .wh. files of l2 are its whiteouts (a plain directory may not hold such names)
    await packToFile({ dir: src, whiteout: 'oci' }, tar, { compression: 'none' });
    tars.push(tar);
  }
  return tars;
}

/** Imports the tarballs as a chain; returns its top ChainID. */
export async function importChain(store: LayerCore, tars: string[]): Promise<string> {
  let parent: string | null = null;
  for (const tar of tars) parent = (await store.importLayer(tar, { parent })).chainId;
  return parent!;
}

/**
 * The scripted change, made in the container's tree at `root`: what `docker diff` should list
 * for it (sorted by path). Owners change only as root, xattrs only with the addon.
 */
export function applyScript(root: string): string[] {
  const p = (x: string) => path.join(root, x);
  const expected = [
    'A /new-dir', 'A /new-dir/sub', 'A /new-dir/sub/f', 'A /new-file', 'A /hard', 'A /hosts-link',
    'C /etc/hosts', 'C /etc/motd', 'D /etc/gone', 'D /var/log',
    'C /recreate', 'A /recreate/fresh', 'C /recreate/kept-name', 'D /recreate/old', 'C /recreate/sub', 'D /recreate/sub/deep',
    'C /chmod-me', 'C /link', 'C /to-dir', 'A /to-dir/x', 'C /from-dir',
  ];
  // new files and an appended one
  fs.writeFileSync(p('new-file'), 'new\n');
  fs.mkdirSync(p('new-dir/sub'), { recursive: true });
  fs.writeFileSync(p('new-dir/sub/f'), 'f\n');
  fs.appendFileSync(p('etc/motd'), 'appended\n');
  // deleted files and directories
  fs.rmSync(p('etc/gone'));
  fs.rmSync(p('var/log'), { recursive: true });
  // a directory removed and made again (same sizes: kept-name's new content is as long as the old)
  fs.rmSync(p('recreate'), { recursive: true });
  fs.mkdirSync(p('recreate/sub'), { recursive: true });
  fs.writeFileSync(p('recreate/kept-name'), 'new content\n');
  fs.writeFileSync(p('recreate/fresh'), 'fresh\n');
  // metadata only
  fs.chmodSync(p('chmod-me'), 0o600);
  if (isRoot) {
    fs.chownSync(p('chown-me'), 1000, 1000);
    expected.push('C /chown-me');
  }
  if (hasAddon) {
    native.lsetxattrSync(p('xattr-me'), 'user.flag', 'on');
    expected.push('C /xattr-me');
  }
  // hardlinks: among new files, and to a file of the chain (which the layer must then carry too)
  fs.linkSync(p('new-file'), p('hard'));
  fs.linkSync(p('etc/hosts'), p('hosts-link'));
  // a symlink retargeted; a file replaced by a directory and the reverse
  fs.unlinkSync(p('link'));
  fs.symlinkSync('etc/motd', p('link'));
  fs.rmSync(p('to-dir'));
  fs.mkdirSync(p('to-dir'));
  fs.writeFileSync(p('to-dir/x'), 'x\n');
  fs.rmSync(p('from-dir'), { recursive: true });
  fs.writeFileSync(p('from-dir'), 'now a file\n');
  makeNoOpChanges(root);
  return expected.sort(byLine);
}

/** Changes that leave everything as it was (overlay copies the files up all the same). */
export function makeNoOpChanges(root: string): void {
  const p = (x: string) => path.join(root, x);
  fs.renameSync(p('moved'), p('moved.tmp'));
  fs.renameSync(p('moved.tmp'), p('moved'));
  fs.closeSync(fs.openSync(p('untouched'), 'r+'));
  fs.chmodSync(p('reverted'), 0o600);
  fs.chmodSync(p('reverted'), 0o644);
}

const byLine = (a: string, b: string) => Buffer.compare(Buffer.from(a.slice(2)), Buffer.from(b.slice(2)));

/** `A /path` lines of a change list, in its order. */
export const lines = (changes: Array<{ kind: string; path: string }>) => changes.map((c) => `${c.kind} ${c.path}`);

/** Unmounts whatever a test left mounted under `dir` (deepest first), then deletes it. */
export function removeWork(dir: string | undefined): void {
  if (!dir) return;
  if (hasAddon) for (let m = native.mountsUnder(dir)[0]; m; m = native.mountsUnder(dir)[0]) native.umount2Sync(m.mountPoint, native.constants.MNT_DETACH);
  removeTempDir(dir);
}
