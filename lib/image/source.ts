import * as fs from 'fs';
import * as path from 'path';
import type { Readable } from 'stream';
import { InvalidArgumentError, NotFoundError } from '../errors';
import { TarIndex } from './tar-index';

/** The files of an image, by their path inside it: a layout directory, or the members of an archive read in place. */
export interface ImageSource {
  /** the directory or archive, for messages */
  readonly where: string;
  /** the size of a file, or undefined when there is none */
  size(name: string): number | undefined;
  /** a whole (small) file; the caller checks its size first */
  read(name: string): Buffer;
  /** the first bytes of a file */
  head(name: string, n: number): Buffer;
  open(name: string): Readable;
  /** where a file's bytes lie on disk (a file of the layout, or a stretch of the archive), for a reader of its own; undefined when they lie on no disk (a registry) */
  locate(name: string): BlobFile | undefined;
  close(): void;
}

/** `size` bytes at `offset` of the file at `path`. */
export interface BlobFile {
  path: string;
  offset: number;
  size: number;
}

function missing(where: string, name: string): NotFoundError {
  return new NotFoundError(name, `${name} is missing from ${where}`);
}

export function dirSource(root: string): ImageSource {
  let closed = false;
  const at = (name: string) => path.join(root, ...name.split('/'));
  const size = (name: string) => {
    try {
      const st = fs.statSync(at(name));
      return st.isFile() ? st.size : undefined;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ENOTDIR') return undefined;
      throw e;
    }
  };
  const need = (name: string) => {
    if (closed) throw new InvalidArgumentError(`the image ${root} was closed`);
    if (size(name) === undefined) throw missing(root, name);
  };
  return {
    where: root,
    size,
    read(name) {
      need(name);
      return fs.readFileSync(at(name));
    },
    head(name, n) {
      need(name);
      const b = Buffer.alloc(n);
      const fd = fs.openSync(at(name), 'r');
      try {
        return b.subarray(0, fs.readSync(fd, b, 0, n, 0));
      } finally {
        fs.closeSync(fd);
      }
    },
    open(name) {
      need(name);
      return fs.createReadStream(at(name), { highWaterMark: 4 << 20 });
    },
    locate(name) {
      need(name);
      return { path: at(name), offset: 0, size: size(name)! };
    },
    close() {
      closed = true;
    },
  };
}

export function tarSource(index: TarIndex): ImageSource {
  let closed = false;
  const need = (name: string) => {
    if (closed) throw new InvalidArgumentError(`the image ${index.file} was closed`);
    const m = index.get(name);
    if (!m) throw missing(index.file, name);
    return m;
  };
  return {
    where: index.file,
    size: (name) => index.get(name)?.size,
    read: (name) => index.read(need(name)),
    head: (name, n) => index.head(need(name), n),
    open: (name) => index.open(need(name)),
    locate(name) {
      const m = need(name);
      return { path: index.file, offset: m.offset, size: m.size };
    },
    close() {
      closed = true;
    },
  };
}
