import * as fs from 'fs';
import * as path from 'path';
import fg from 'fast-glob';
import dockerignore from '@balena/dockerignore';
import { InvalidArgumentError, LayerfsError, NotFoundError } from '../errors';

export interface SelectOptions {
  include?: string[];
  exclude?: string[];
  /** a file in .dockerignore syntax */
  ignoreFile?: string;
  /** keep fifos, sockets and devices (default: skip them with a warning) */
  specialFiles?: boolean;
  /** a pattern that matches nothing is an error, not a warning */
  strict?: boolean;
  warn: (msg: string) => void;
}

/** What a build takes from a directory: relative paths, parents before children, nothing followed through a symlink. */
export function selectFiles(from: string, opts: SelectOptions): string[] {
  if (!fs.existsSync(from)) throw new NotFoundError(from, `no such directory: ${from}`);
  if (!fs.statSync(from).isDirectory()) throw new InvalidArgumentError(`${from} is not a directory`);
  const include = opts.include?.length ? opts.include : ['**'];
  let ignore: ((p: string) => boolean) | null = null;
  if (opts.ignoreFile) {
    if (!fs.existsSync(opts.ignoreFile)) throw new NotFoundError(opts.ignoreFile, `no such ignore file: ${opts.ignoreFile}`);
    const ig = dockerignore({ ignorecase: false }).add(fs.readFileSync(opts.ignoreFile, 'utf8').split(/\r?\n/));
    ignore = (p) => ig.ignores(p);
  }
  const picked = new Set<string>();
  for (const pattern of include) {
    const found = fg.sync(pattern, { cwd: from, dot: true, onlyFiles: false, followSymbolicLinks: false, ignore: opts.exclude ?? [], markDirectories: false });
    if (!found.length) {
      const msg = `the pattern ${JSON.stringify(pattern)} matches nothing in ${from}`;
      if (opts.strict) throw new InvalidArgumentError(msg);
      opts.warn(msg);
    }
    for (const f of found) picked.add(f);
  }
  const out = new Set<string>();
  for (const rel of picked) {
    if (ignore && ignore(rel)) continue;
    const abs = path.join(from, rel);
    const st = fs.lstatSync(abs);
    if (!st.isFile() && !st.isDirectory() && !st.isSymbolicLink() && !opts.specialFiles) {
      opts.warn(`skipped the special file ${rel} (pass specialFiles / --special-files to keep it)`);
      continue;
    }
    if (st.isFile()) {
      try {
        fs.accessSync(abs, fs.constants.R_OK);
      } catch (e) {
        throw new LayerfsError('LAYERFS_UNREADABLE', `cannot read ${abs}: ${(e as Error).message}`);
      }
    }
    out.add(rel);
    // parents carry their own metadata into the layer
    for (let d = path.posix.dirname(rel); d !== '.'; d = path.posix.dirname(d)) out.add(d);
  }
  return [...out].sort();
}
