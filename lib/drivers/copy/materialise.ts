import * as fs from 'fs';
import { UnsafePathError } from '../../errors';
import * as native from '../../native';
import { fsPath } from '../../names';
import { UnionView } from '../../view';
import type { MaterialiseJob, MaterialiseProgress, MaterialiseResult } from './materialise.protocol';
import { FileCopier } from '../file-copy';
import { FileThread } from './materialise-files';
import { Attributes, metaOf } from '../attributes';
import type { EntryMeta, NewOwner } from '../attributes';

type Stat = fs.Stats | fs.BigIntStats;

const PROGRESS_EVERY = 1000;

/**
 * Regular files at least this large always go to the second thread: their copy is the kernel's
 * work (a clone, or copy_file_range), and the walk goes on meanwhile. Each counts as a full
 * backlog, so the walk copies what comes next itself until the big one is done.
 */
export const BIG_FILE_BYTES = 1 << 20;
/** The second thread is given small files while fewer than this many wait for it... */
const MAX_BACKLOG = 64;
/** ...and not before this many regular files were seen (a small tree is not worth a thread). */
const SHARE_AFTER = 256;

const S_ISGID = 0o2000;

/**
 * Copies the union of a chain into `root` (run it in a worker thread: per-file work must not be
 * one awaited call per syscall; the walk and the copies of small files are synchronous). The
 * UnionView decides what is visible, so whiteouts and opaque directories are honoured in every
 * store format. Lower layers are only read. Hardlinks inside the chain stay hardlinks (grouped by
 * the source's device and inode). Owners are set when running as root, xattrs when the addon is
 * there; directories get their modes and mtimes last, deepest first, once nothing more is written
 * inside them. A second thread (FileThread) copies the large files and, while it keeps up, part of
 * the small ones; hardlinks to the files it makes wait for it.
 *
 * Nothing is written through a symlink: every entry goes into a directory this copy made itself
 * (mkdir, which fails on anything already there) in a root only this process can reach yet, and
 * an entry whose parent is not such a directory is refused (LAYERFS_UNSAFE_PATH); files are
 * created with O_EXCL. The layers are only read, by the view, which never descends a layer's
 * non-directory; they are never written after they were committed.
 *
 * Per entry it makes only the calls that change something: a new entry already has this
 * process's owner (no chown when the source has it too), and a file made by copyFile already has
 * the source's mode (no chmod unless a chown cleared its set-id bits).
 */
export async function materialise(job: MaterialiseJob, post?: (m: MaterialiseProgress) => void): Promise<MaterialiseResult> {
  // bigint stats: metaOf reads the times from them (to the ns) instead of an lstat of its own per entry
  const view = new UnionView(job.layers, job.whiteout, { bigint: true });
  fs.mkdirSync(job.root, { mode: 0o700 });
  const attrs = new Attributes(newOwnerUnder(job.root));
  const copier = new FileCopier({ exclusive: true });
  const helper = new FileThread(attrs.newOwner);
  /** hardlinked files by source inode: the first copy, and whether the second thread makes it */
  const links = new Map<string, { dest: string; later: boolean }>();
  const laterLinks: Array<[string, string]> = [];
  const dirs: Array<{ dest: string; meta: EntryMeta }> = [];
  let entries = 0;
  let helperBytes = 0;
  let files = 0;
  let sawRoot = false;
  /** the directories this copy made: the only places it writes into */
  const made = new Set<string>(['/']);
  try {
    for (const e of view.walkSync()) {
      entries++;
      if (post && entries % PROGRESS_EVERY === 0) post({ type: 'progress', entries, bytes: copier.bytes + helperBytes });
      const st = e.stat as Stat;
      if (e.path === '/') {
        sawRoot = true;
        const meta = metaOf(st, e.realPath);
        attrs.owner(job.root, e.realPath, meta);
        dirs.push({ dest: job.root, meta });
        continue;
      }
      const dest = job.root + e.path;
      const parent = e.path.slice(0, e.path.lastIndexOf('/')) || '/';
      if (!made.has(parent)) throw new UnsafePathError(e.path, `the copy did not make ${parent} as a directory: writing into it could follow a symlink`);
      if (st.isDirectory()) {
        const meta = metaOf(st, e.realPath);
        fs.mkdirSync(fsPath(dest), { mode: 0o700 });
        made.add(e.path);
        attrs.owner(dest, e.realPath, meta);
        dirs.push({ dest, meta });
        continue;
      }
      let modeSet = false;
      if (st.isFile()) {
        const size = Number(st.size);
        const big = size >= BIG_FILE_BYTES;
        const toHelper = big || (++files > SHARE_AFTER && helper.backlog() < MAX_BACKLOG);
        if (Number(st.nlink) > 1) {
          const key = `${st.dev}:${st.ino}`;
          const first = links.get(key);
          if (first) {
            // one inode: its attributes are already set (or will be, by the second thread)
            if (first.later) laterLinks.push([first.dest, dest]);
            else fs.linkSync(fsPath(first.dest), fsPath(dest));
            continue;
          }
          links.set(key, { dest, later: toHelper });
        }
        if (toHelper) {
          helper.add({ src: e.realPath, dest, size, blocks: Number(st.blocks), meta: metaOf(st, e.realPath), weight: big ? MAX_BACKLOG : 1 });
          helperBytes += size;
          continue;
        }
        modeSet = copier.copy(e.realPath, dest, { size, blocks: Number(st.blocks) });
      } else if (st.isSymbolicLink()) {
        fs.symlinkSync(fs.readlinkSync(fsPath(e.realPath), { encoding: 'buffer' }), fsPath(dest));
      } else if (st.isCharacterDevice() || st.isBlockDevice() || st.isFIFO()) {
        const { major, minor } = native.splitDev(st.rdev);
        native.mknodSync(fsPath(dest), Number(st.mode) & 0o170000, major, minor);
      } else {
        // sockets belong to a running process, not to a filesystem image
        continue;
      }
      attrs.all(dest, e.realPath, metaOf(st, e.realPath), modeSet);
    }
    await helper.finish();
  } catch (e) {
    await helper.stop();
    throw e;
  }
  for (const [first, dest] of laterLinks) fs.linkSync(fsPath(first), fsPath(dest));
  if (!sawRoot) {
    const top = view.lookupSync('/');
    if (top) dirs.unshift({ dest: job.root, meta: metaOf(top.stat, top.realPath) });
    // no layers: an empty tree with the usual root mode
    else fs.chmodSync(job.root, 0o755);
  }
  for (let i = dirs.length - 1; i >= 0; i--) attrs.modeAndTimes(dirs[i].dest, dirs[i].meta);
  return { entries, bytes: copier.bytes + helperBytes };
}

/**
 * The owner new entries under `dir` (just made by this process) get: this process's, unless `dir`
 * is set-group-ID (then the group comes from the directory, and every chown is made).
 */
function newOwnerUnder(dir: string): NewOwner {
  const st = fs.lstatSync(dir);
  return st.mode & S_ISGID ? null : { uid: st.uid, gid: st.gid };
}

