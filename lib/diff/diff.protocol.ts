import { workerSpec } from '../workers';
import type { DiffJob } from './jobs';
import type { Change } from './types';

/** One diff, walked with sync fs calls off the main thread. */
export const DIFF_WORKER = workerSpec<DiffJob, Change[]>('diff/diff.worker');
