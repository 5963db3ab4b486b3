import { workerSpec } from '../../workers';
import type { WhiteoutFormatName } from '../../types';
import type { EntryMeta, NewOwner } from '../attributes';

export interface MaterialiseJob {
  /** the chain's layer directories, bottom first */
  layers: string[];
  whiteout: WhiteoutFormatName;
  /** the directory to create and fill */
  root: string;
  /** where the stat snapshot goes */
  manifest: string;
}

export interface MaterialiseResult {
  entries: number;
  /** bytes of regular files (clones count in full) */
  bytes: number;
}

export type MaterialiseProgress = { type: 'progress'; entries: number; bytes: number };

/** The copy driver's worker: materialises the chain, then records the stat snapshot the diff compares against. */
export const MATERIALISE_WORKER = workerSpec<MaterialiseJob, MaterialiseResult, MaterialiseProgress>('drivers/copy/materialise.worker');

/** One regular file for the second thread: copy `src` to the new `dest`, then give it `meta` and the source's xattrs. */
export interface FileTask {
  src: string;
  dest: string;
  size: number;
  blocks: number;
  meta: EntryMeta;
  /** what it counts for in the backlog */
  weight: number;
}

/** Messages to the second thread: files to copy, or the end of the list. */
export type FileThreadMessage = { type: 'files'; files: FileTask[] } | { type: 'end' };

/** What the second thread is started with. */
export interface FileThreadData {
  newOwner: NewOwner;
  /** one Int32: the weight of the files it has finished */
  done: SharedArrayBuffer;
}

/** The copy driver's second thread (FileThread): copies the files it is sent until the end message. */
export const FILE_THREAD_WORKER = workerSpec<FileThreadData, void, never, FileThreadMessage>('drivers/copy/materialise-files.worker');
