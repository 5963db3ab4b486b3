import { workerSpec } from '../workers';
import type { PackProgressMessage, PackWorkerData } from './pack-run';
import type { ChunkMessage, CreditMessage } from '../workers';
import type { PackResult } from './types';

export type { PackProgressMessage, PackWorkerData } from './pack-run';

/** The pack worker (lib/tar/pack.worker.ts): progress, and the tar's chunks when they stream to the parent, paced by credits. */
export const PACK_WORKER = workerSpec<PackWorkerData, PackResult, PackProgressMessage | ChunkMessage, CreditMessage>('tar/pack.worker');
