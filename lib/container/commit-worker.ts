import { workerMain } from '../native/worker-main';
import { CommitLayerJob, runCommitLayerJobSync } from './commit-job';

/** Worker entry: a commit's per-file work (planning, the layer directory, its manifest) off the main thread. */
workerMain((job: CommitLayerJob, post) => runCommitLayerJobSync(job, post));
