import { workerSpec } from '../workers';
import type { WarmJob } from '../workers';
import type { PackProgressMessage } from '../tar/pack.protocol';
import type { CommitJobResult, CommitLayerJob } from './commit-job';

/**
 * The commit worker (commit.worker.ts): a commit's per-file work (planning, the tarball and the
 * layer directory in one pass, its content index) off the main thread, kept warm between commits
 * (WarmWorker). It is sent one job at a time and posts the pack's progress meanwhile.
 */
export const COMMIT_WORKER = workerSpec<CommitLayerJob, CommitJobResult, PackProgressMessage, WarmJob<CommitLayerJob>>('container/commit.worker');
