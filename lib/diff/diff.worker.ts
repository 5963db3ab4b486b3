import { defineWorker } from '../workers/define';
import { runDiffJob } from './jobs';
import { DIFF_WORKER } from './diff.protocol';

defineWorker(DIFF_WORKER, (job) => runDiffJob(job));
