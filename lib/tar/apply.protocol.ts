/** What the main thread and the apply worker say to each other (types only). */
import type { MessagePort } from 'worker_threads';
import { workerSpec } from '../workers';
import type { ApplyResult, TarLimits } from './types';
import type { WhiteoutFormatName } from '../types';

export interface ApplyWorkerData {
  /** the input file; else `port` brings the input (the chunk channel of lib/workers/chunk-channel) */
  path?: string;
  /** with `path`: read only `length` bytes from offset `start` (a member of an archive, read in place) */
  start?: number;
  length?: number;
  port?: MessagePort;
  target: string;
  whiteout: WhiteoutFormatName;
  /** an empty file the main thread created: the input bytes are written into it */
  blobPath?: string;
  /**
   * the input's digest, checked by the sender (a stream marked by markVerified, lib/digest): the
   * bytes are not hashed again here, and the channel ends only once they verified
   */
  digest?: string;
  applyOwners: boolean;
  limits: Partial<TarLimits>;
  total?: number;
  durable?: boolean;
  manifestPath?: string;
  /** the chain below, bottom first, for implicit parent directories; given (even empty), whiteouts that hide nothing of it are not kept (overlay formats) */
  lowerDirs?: string[];
  /**
   * the chain below is still being written: the worker applies the whole tar, then, if its
   * entries need the chain (implicit parents, whiteouts: LayerApplier.finishBeforeLower), posts a
   * LowerWantedMessage and waits for a LowerMessage (on its parentPort) before it finishes the
   * directories' metadata; if not, it ends at once, leaving the wait and the root to the caller
   * (ApplyWorkerResult.beforeLower)
   */
  lowerLater?: boolean;
  /** the caller checks the DiffID (a sha256 of the decompressed bytes): gzip's CRC-32 is not computed */
  diffIdChecked?: boolean;
}

/** The worker's result: the layer's, and, when it ended without the chain below, what is left for the caller. */
export interface ApplyWorkerResult extends ApplyResult {
  /**
   * with lowerLater: the worker ended without asking for the chain below (nothing of its entries
   * needed it). The caller still waits for the chain before the layer is done, and then gives
   * the root the chain's root metadata when `rootFromChain` (the tar has no root entry; chowned
   * when `owners`).
   */
  beforeLower?: { rootFromChain: boolean; owners: boolean };
}

/**
 * the chunks a stream input comes in, four in flight: 1.25 MiB per layer on each side, where
 * 1 MiB chunks two at a time held 3 MiB (a pull's peak RSS 5 MB lower, no slower)
 */
export const STREAM_CHUNK = 256 << 10;

/** worker -> main thread: the tar is written; the chain below is needed now */
export type LowerWantedMessage = { type: 'lower-wanted' };
/** main thread -> worker (parentPort): the chain below, complete, bottom first */
export interface LowerMessage {
  type: 'lower';
  dirs: string[];
}


/** worker -> main thread, throttled */
export interface ProgressMessage {
  type: 'progress';
  bytes: number;
  total?: number;
  entries: number;
}

/** The apply worker: reads, hashes and writes one layer (lib/tar/apply.worker.ts). */
/**
 * A small young generation: the worker's JavaScript objects (tar headers, chunk wrappers) die
 * young, and V8's default (sized for a main thread, up to 48 MiB) only held garbage longer.
 * 4 MiB took about 6 MiB of peak RSS off each layer in flight at no measurable CPU cost.
 */
export const APPLY_WORKER = workerSpec<ApplyWorkerData, ApplyWorkerResult, ProgressMessage | LowerWantedMessage, LowerMessage>('tar/apply.worker', { youngGenerationMb: 4 });
