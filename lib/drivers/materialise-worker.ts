import { workerMain } from '../native/worker-main';
import { writeManifestSync } from '../diff';
import { materialiseSync, MaterialiseJob, MaterialiseResult } from './materialise';

/** The copy driver's worker: materialises the chain, then records the stat manifest the diff compares against. */
workerMain((job: MaterialiseJob, post): MaterialiseResult => {
  const result = materialiseSync(job, post);
  writeManifestSync(job.root, job.manifest);
  return result;
});
