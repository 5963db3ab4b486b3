/**
 * One toolkit for worker threads. Per-file work (extract, copy, walk, pack) runs synchronously
 * in a worker: an awaited fs call costs ~40 µs, a sync one ~1 µs, and the main thread stays free.
 * Each worker is `<name>.worker.ts` (its body, `defineWorker`) beside `<name>.protocol.ts` (its
 * `workerSpec`: script, job, result and message types); callers use `runWorker` or `startWorker`.
 * This module is what callers import; a worker's body imports ./define (which needs a parent port).
 */
export { workerSpec, workerScript } from './spec';
export type { Message, WorkerSpec } from './spec';
export { startWorker, runWorker } from './run';
export type { StartOptions, RunningWorker, WorkerHandle } from './run';
export { WarmWorker } from './warm';
export type { WarmJob, WarmSpec } from './warm';
export { ChunkSender, ChunkReceiver, receiveChunks, CHUNK_SIZE, WINDOW } from './chunk-channel';
export type { ChannelMessage, ChunkMessage, CreditMessage } from './chunk-channel';
