import { workerMain } from '../native/worker-main';
import { CommitLayerJob, runCommitLayerJob } from './commit-job';

/** Worker entry: a commit's per-file work (planning, the tarball and the layer directory in one pass, its manifest) off the main thread. */
workerMain((job: CommitLayerJob, post) => runCommitLayerJob(job, post));
