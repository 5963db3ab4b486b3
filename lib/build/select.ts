import * as fs from 'fs';
import * as path from 'path';
import dockerignore from '@balena/dockerignore';
import { InvalidArgumentError, LayerfsError, NotFoundError } from '../errors';
import { byteOrder, fsPath, printable, readdirNamesSync } from '../names';
import { compileGlob } from './glob';

export interface SelectOptions {
  /** patterns of what to take (lib/build/glob.ts); default: everything */
  include?: string[];
  /** patterns of what to leave out */
  exclude?: string[];
  /** a file in .dockerignore syntax */
  ignoreFile?: string;
  /** keep fifos, sockets and devices (default: skip them with a warning) */
  specialFiles?: boolean;
  /** an include pattern that matches nothing is an error, not a warning */
  strict?: boolean;
  warn: (msg: string) => void;
}

/**
 * What a build takes from a directory (the context): relative paths in byte order, parents
 * before children.
 *
 * Every entry of the context is seen, whatever its name's bytes (a newline, bytes that are not
 * UTF-8: names are lib/names strings, byte for byte), by a walk of our own that never follows a
 * symlink: a symlink is an entry like any other (packed as a symlink), and nothing beyond it is
 * selected, so `link -> /etc` with `--include 'link/host*'` takes nothing from /etc.
 *
 * A pattern that matches a directory takes (include) or leaves out (exclude) everything under
 * it, as .dockerignore users expect; the ignore file has Docker's own semantics (negations, `**`).
 * An include that matches nothing is a warning, or with `strict` an error (LAYERFS_NOT_FOUND).
 */
export function selectFiles(from: string, opts: SelectOptions): string[] {
  const st = fs.statSync(from, { throwIfNoEntry: false });
  if (!st) throw new NotFoundError(from, `no such directory: ${from}`);
  if (!st.isDirectory()) throw new InvalidArgumentError(`${from} is not a directory`);
  const include = (opts.include ?? []).map((p) => ({ pattern: p, re: compileGlob(p), matched: false }));
  const exclude = (opts.exclude ?? []).map(compileGlob);
  let ignored: (rel: string) => boolean = () => false;
  if (opts.ignoreFile) {
    if (!fs.existsSync(opts.ignoreFile)) throw new NotFoundError(opts.ignoreFile, `no such ignore file: ${opts.ignoreFile}`);
    const ig = dockerignore({ ignorecase: false }).add(fs.readFileSync(opts.ignoreFile, 'utf8').split(/\r?\n/));
    ignored = (rel) => ig.ignores(rel);
  }

  const out = new Set<string>();
  // `under`: an ancestor was matched by an include (everything below is taken)
  const walk = (dir: string, under: boolean) => {
    for (const name of readdirNamesSync(path.join(from, dir))) {
      const rel = dir === '' ? name : `${dir}/${name}`;
      // an excluded directory leaves out all it holds: not walked
      if (exclude.some((re) => re.test(rel))) continue;
      let taken = under || include.length === 0;
      for (const inc of include) {
        if (inc.re.test(rel)) {
          inc.matched = true;
          taken = true;
        }
      }
      const abs = path.join(from, rel);
      const lst = fs.lstatSync(fsPath(abs));
      // the ignore file may re-include below an ignored directory (`!dir/keep`): always walk
      if (taken && !ignored(rel) && keep(rel, abs, lst, opts)) {
        out.add(rel);
        // parents carry their own metadata into the layer
        for (let d = path.posix.dirname(rel); d !== '.'; d = path.posix.dirname(d)) out.add(d);
      }
      if (lst.isDirectory()) walk(rel, taken && include.length > 0);
    }
  };
  walk('', false);

  for (const inc of include) {
    if (inc.matched) continue;
    const msg = `the pattern ${JSON.stringify(inc.pattern)} matches nothing in ${from} (symlinks are not followed)`;
    if (opts.strict) throw new NotFoundError(inc.pattern, msg);
    opts.warn(msg);
  }
  return [...out].sort(byteOrder);
}

/** Whether an entry the patterns selected goes into the layer: special files only when asked, regular files only when readable. */
function keep(rel: string, abs: string, st: fs.Stats, opts: SelectOptions): boolean {
  if (!st.isFile() && !st.isDirectory() && !st.isSymbolicLink() && !opts.specialFiles) {
    opts.warn(`skipped the special file ${printable(rel)} (pass specialFiles / --special-files to keep it)`);
    return false;
  }
  if (st.isFile()) {
    try {
      fs.accessSync(fsPath(abs), fs.constants.R_OK);
    } catch (e) {
      throw new LayerfsError('LAYERFS_UNREADABLE', `cannot read ${printable(abs)}: ${(e as Error).message}`);
    }
  }
  return true;
}
