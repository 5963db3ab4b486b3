import { defineWarmWorker } from '../workers/define';
import { runCommitLayerJob } from './commit-job';
import { COMMIT_WORKER } from './commit.protocol';

defineWarmWorker(COMMIT_WORKER, (job, post) => runCommitLayerJob(job, post));
