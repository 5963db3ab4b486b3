import { startWorker } from '../../workers';
import type { WorkerHandle } from '../../workers';
import type { NewOwner } from '../attributes';
import { FILE_THREAD_WORKER } from './materialise.protocol';
import type { FileTask, FileThreadMessage } from './materialise.protocol';

/** Files are sent in batches of this many (a message per file costs more than a small copy). */
const BATCH = 16;

/**
 * The second thread of a materialised copy: it copies the regular files it is given while the
 * walk goes on (started at the first file given). `backlog` tells the walk how much it has not
 * done yet, so the walk hands it files only while it keeps up and copies the rest itself: the
 * two threads share the work whatever each one's speed. `finish` waits for the last copy and
 * throws the first error the thread met; `stop` ends the thread whatever it is doing.
 */
export class FileThread {
  private worker: WorkerHandle<void, FileThreadMessage> | null = null;
  private readonly doneWeight = new Int32Array(new SharedArrayBuffer(4));
  private sentWeight = 0;
  private batch: FileTask[] = [];

  constructor(private readonly newOwner: NewOwner) {}

  /** The weight of the files given and not finished yet (those still in the batch included). */
  backlog(): number {
    return this.sentWeight - Atomics.load(this.doneWeight, 0);
  }

  add(task: FileTask): void {
    this.batch.push(task);
    this.sentWeight += task.weight;
    if (this.batch.length >= BATCH || task.weight > 1) this.flush();
  }

  async finish(): Promise<void> {
    if (this.batch.length) this.flush();
    if (!this.worker) return;
    const end: FileThreadMessage = { type: 'end' };
    this.worker.post(end);
    try {
      await this.worker.result;
    } finally {
      this.worker = null;
    }
  }

  async stop(): Promise<void> {
    const w = this.worker;
    this.worker = null;
    this.batch = [];
    if (w) await w.terminate();
  }

  private flush(): void {
    const msg: FileThreadMessage = { type: 'files', files: this.batch };
    this.batch = [];
    this.start().post(msg);
  }

  private start(): WorkerHandle<void, FileThreadMessage> {
    if (this.worker) return this.worker;
    const w = startWorker(FILE_THREAD_WORKER, { newOwner: this.newOwner, done: this.doneWeight.buffer as SharedArrayBuffer });
    // awaited in finish(); until then a failure must not count as unhandled
    w.result.catch(() => undefined);
    this.worker = w;
    return w;
  }
}
