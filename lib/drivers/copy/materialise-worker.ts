import { workerMain } from '../../native/worker-main';
import { writeManifestSync } from '../../diff';
import { materialise, MaterialiseJob, MaterialiseResult } from './materialise';

/** The copy driver's worker: materialises the chain, then records the stat manifest the diff compares against. */
workerMain(async (job: MaterialiseJob, post): Promise<MaterialiseResult> => {
  const result = await materialise(job, post);
  writeManifestSync(job.root, job.manifest);
  return result;
});
