/** Worker entry for packing (lib/tar/pack-run.ts). */
import { defineWorker } from '../workers/define';
import { pack } from './pack-run';
import { PACK_WORKER } from './pack.protocol';

defineWorker(PACK_WORKER, (data, ctx) => pack(data, ctx.post));
