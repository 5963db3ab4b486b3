import * as fs from 'fs';
import { UnsafePathError } from '../../errors';
import * as native from '../../native';
import { fsPath } from '../../names';
import { UnionView } from '../../view';
import type { ViewEntry } from '../../view';
import type { MaterialiseJob, MaterialiseProgress, MaterialiseResult } from './materialise.protocol';
import { FileCopier } from '../file-copy';
import { FileThread } from './materialise-files';
import { Attributes, metaOf } from '../attributes';
import type { EntryMeta, NewOwner } from '../attributes';
import { Batches } from './batches';

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
 * inside them. With the addon's copyEntries the work goes a directory at a time
 * (materialiseByDirectory); without it, file by file (materialiseByFile).
 *
 * Nothing is written through a symlink: every entry goes into a directory this copy made itself
 * (mkdir, which fails on anything already there) in a root only this process can reach yet,
 * reached by descriptor without following symlinks (copyEntries) or, file by file, refused when
 * its parent is not such a directory (LAYERFS_UNSAFE_PATH); files are created with O_EXCL. The
 * layers are only read, by the view, which never descends a layer's non-directory; they are
 * never written after they were committed.
 */
export async function materialise(job: MaterialiseJob, post?: (m: MaterialiseProgress) => void): Promise<MaterialiseResult> {
  return native.supports('copyEntries') ? materialiseByDirectory(job, post) : materialiseByFile(job, post);
}

/**
 * Without the addon's copyEntries: file by file, with Node's fs. A second thread (FileThread)
 * copies the large files and, while it keeps up, part of the small ones; hardlinks to the files it
 * makes wait for it. Per entry it makes only the calls that change something: a new entry already
 * has this process's owner (no chown when the source has it too), and a file made by copyFile
 * already has the source's mode (no chmod unless a chown cleared its set-id bits).
 */
async function materialiseByFile(job: MaterialiseJob, post?: (m: MaterialiseProgress) => void): Promise<MaterialiseResult> {
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
  finishTree(job, view, attrs, laterLinks, dirs, sawRoot);
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


/** A directory's entries go to copyEntries in batches of at most this many. */
const BATCH_ENTRIES = 512;

/**
 * With the addon: one copyEntries call per directory (per BATCH_ENTRIES of it, and a call of
 * its own for each file of BIG_FILE_BYTES or more), each relative to a descriptor of the
 * directory the copy made (see copyEntries), run on libuv's pool while the walk merges the next
 * directories; Batches keeps a few in flight. A directory's batch starts once the batch that
 * made it is done. Hardlinks are made once every batch is done, then directories get their modes
 * and times, deepest first.
 */
async function materialiseByDirectory(job: MaterialiseJob, post?: (m: MaterialiseProgress) => void): Promise<MaterialiseResult> {
  const view = new UnionView(job.layers, job.whiteout, { bigint: true });
  fs.mkdirSync(job.root, { mode: 0o700 });
  const newOwner = newOwnerUnder(job.root);
  const attrs = new Attributes(newOwner);
  const flags = (process.geteuid?.() === 0 ? native.COPY_OWNERS : 0) | native.COPY_XATTRS;
  const rootFd = fs.openSync(job.root, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY | fs.constants.O_NOFOLLOW);
  const batches = new Batches();
  /** the batch that makes each directory not walked yet */
  const making = new Map<string, Promise<void>>();
  const links = new Map<string, string>();
  const laterLinks: Array<[string, string]> = [];
  const dirs: Array<{ dest: string; meta: EntryMeta }> = [];
  let entries = 0;
  let bytes = 0;
  let sawRoot = false;
  try {
    for (const { dir, entries: children } of view.walkDirsSync()) {
      if (dir.path === '/') {
        sawRoot = true;
        entries++;
        const meta = metaOf(dir.stat, dir.realPath);
        attrs.owner(job.root, dir.realPath, meta);
        dirs.push({ dest: job.root, meta });
      }
      const after = making.get(dir.path);
      making.delete(dir.path);
      const destDir = job.root + (dir.path === '/' ? '' : dir.path);
      const batch = new BatchBuilder(rootFd, dir.path, destDir, flags, newOwner);
      const flush = async (b: BatchBuilder) => {
        const done = batches.run(after, b.batch());
        for (const d of b.dirs) making.set(d, done);
        await batches.room();
      };
      for (const e of children) {
        entries++;
        if (post && entries % PROGRESS_EVERY === 0) post({ type: 'progress', entries, bytes });
        const st = e.stat as unknown as fs.BigIntStats;
        const dest = job.root + e.path;
        if (e.type === 'dir') {
          dirs.push({ dest, meta: metaOf(st, e.realPath) });
        } else if (e.type === 'file') {
          if (st.nlink > 1n) {
            const key = `${st.dev}:${st.ino}`;
            const first = links.get(key);
            if (first !== undefined) {
              laterLinks.push([first, dest]);
              continue;
            }
            links.set(key, dest);
          }
          bytes += Number(st.size);
          if (st.size >= BigInt(BIG_FILE_BYTES)) {
            const big = new BatchBuilder(rootFd, dir.path, destDir, flags, newOwner);
            big.add(e);
            await flush(big);
            continue;
          }
        } else if (e.type === 'socket') {
          continue;
        }
        batch.add(e);
        if (batch.size >= BATCH_ENTRIES) {
          await flush(batch.take());
        }
      }
      if (batch.size > 0) await flush(batch.take());
    }
    await batches.finish();
  } finally {
    await batches.settle();
    fs.closeSync(rootFd);
  }
  finishTree(job, view, attrs, laterLinks, dirs, sawRoot);
  return { entries, bytes };
}

/**
 * What both ways do once every entry is made: the hardlinks that waited, then the directories'
 * modes and times, deepest first (writing into a directory changes its times). A chain whose
 * layers have no root entry gets the view's root, or, with no layers, the usual root mode.
 */
function finishTree(job: MaterialiseJob, view: UnionView, attrs: Attributes, laterLinks: Array<[string, string]>, dirs: Array<{ dest: string; meta: EntryMeta }>, sawRoot: boolean): void {
  for (const [first, dest] of laterLinks) fs.linkSync(fsPath(first), fsPath(dest));
  if (!sawRoot) {
    const top = view.lookupSync('/');
    if (top) dirs.unshift({ dest: job.root, meta: metaOf(top.stat, top.realPath) });
    else fs.chmodSync(job.root, 0o755);
  }
  for (let i = dirs.length - 1; i >= 0; i--) attrs.modeAndTimes(dirs[i].dest, dirs[i].meta);
}

/** The entries of one copyEntries call, gathered from one directory's children. */
class BatchBuilder {
  private srcDirs: Array<string | Buffer> = [];
  private readonly srcIndex = new Map<number, number>();
  private names: Array<string | Buffer> = [];
  private stats: bigint[] = [];
  /** the directories this batch makes (their view paths) */
  dirs: string[] = [];

  constructor(
    private readonly rootFd: number,
    private readonly dirPath: string,
    private readonly destDir: string,
    private readonly flags: number,
    private readonly newOwner: NewOwner,
  ) {}

  get size(): number {
    return this.names.length;
  }

  add(e: ViewEntry): void {
    const st = e.stat as unknown as fs.BigIntStats;
    const name = e.path.slice(e.path.lastIndexOf('/') + 1);
    let src = this.srcIndex.get(e.layer);
    if (src === undefined) {
      src = this.srcDirs.length;
      this.srcIndex.set(e.layer, src);
      this.srcDirs.push(fsPath(e.realPath.slice(0, e.realPath.length - name.length - 1)));
    }
    this.names.push(fsPath(name));
    this.stats.push(BigInt(src), st.mode, st.uid, st.gid, st.size, st.blocks, st.rdev, st.atimeNs, st.mtimeNs);
    if (e.type === 'dir') this.dirs.push(e.path);
  }

  /** A builder holding what this one held; this one starts again empty. */
  take(): BatchBuilder {
    const b = new BatchBuilder(this.rootFd, this.dirPath, this.destDir, this.flags, this.newOwner);
    [b.srcDirs, b.names, b.stats, b.dirs] = [this.srcDirs, this.names, this.stats, this.dirs];
    this.srcDirs = [];
    this.srcIndex.clear();
    this.names = [];
    this.stats = [];
    this.dirs = [];
    return b;
  }

  batch(): native.CopyEntriesBatch {
    return {
      rootFd: this.rootFd,
      dir: this.dirPath === '/' ? '' : fsPath(this.dirPath.slice(1)),
      dirShown: fsPath(this.destDir),
      srcDirs: this.srcDirs,
      names: this.names,
      stats: BigInt64Array.from(this.stats),
      flags: this.flags,
      newOwner: this.newOwner,
    };
  }
}
