/** Worker entry for packing (lib/tar/pack-run.ts). */
import { workerMain } from '../native/worker-main';
import { pack } from './pack-run';

export type { PackProgressMessage, PackWorkerData } from './pack-run';

workerMain(pack);
