import { parentPort } from 'worker_threads';
import { serializeError } from '../errors';
import { CommitLayerJob, runCommitLayerJob } from './commit-job';

/**
 * Worker entry: a commit's per-file work (planning, the tarball and the layer directory in one
 * pass, its manifest) off the main thread. The worker stays warm between commits
 * (lib/container/commit-pool.ts): it takes `{ type: 'job', job }` messages one after another, and
 * answers each with `done` or `error` (progress messages meanwhile).
 */
const port = parentPort;
if (!port) throw new Error('the commit worker must run inside a worker thread');
const post = (m: Record<string, unknown>) => port.postMessage(m);
port.on('message', (m: { type?: string; job?: CommitLayerJob }) => {
  if (m?.type !== 'job' || !m.job) return;
  runCommitLayerJob(m.job, post).then(
    (result) => post({ type: 'done', result }),
    (e) => post({ type: 'error', error: serializeError(e) }),
  );
});
