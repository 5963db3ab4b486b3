import { workerMain } from '../native/worker-main';
import { DiffJob, runDiffJob } from './jobs';

/** Worker entry: one diff, walked with sync fs calls off the main thread. */
workerMain((job: DiffJob) => runDiffJob(job));
