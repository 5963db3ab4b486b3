import { defineWorker } from '../../workers/define';
import { writeStatSnapshotSync } from '../../diff';
import { materialise } from './materialise';
import { MATERIALISE_WORKER } from './materialise.protocol';

defineWorker(MATERIALISE_WORKER, async (job, ctx) => {
  const result = await materialise(job, ctx.post);
  writeStatSnapshotSync(job.root, job.manifest);
  return result;
});
