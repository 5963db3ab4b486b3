import type { Worker } from 'worker_threads';
import { deserializeError } from '../../errors';
import { workerScript } from '../../native/workers';
import type { EntryMeta, NewOwner } from '../attributes';

/** One regular file for the second thread: copy `src` to the new `dest`, then give it `meta` and the source's xattrs. */
export interface FileTask {
  src: string;
  dest: string;
  size: number;
  blocks: number;
  meta: EntryMeta;
  /** what it counts for in the backlog */
  weight: number;
}

/** Messages to the second thread: files to copy, or the end of the list. */
export type FileThreadMessage = { type: 'files'; files: FileTask[] } | { type: 'end' };

/** What the second thread is started with. */
export interface FileThreadData {
  newOwner: NewOwner;
  /** one Int32: the weight of the files it has finished */
  done: SharedArrayBuffer;
}

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
  private worker: Worker | null = null;
  private done: Promise<void> | null = null;
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
    this.worker.postMessage(end);
    try {
      await this.done;
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
    this.start().postMessage(msg);
  }

  private start(): Worker {
    if (this.worker) return this.worker;
    const data: FileThreadData = { newOwner: this.newOwner, done: this.doneWeight.buffer as SharedArrayBuffer };
    const { Worker } = require('worker_threads') as typeof import('worker_threads');
    const w = new Worker(workerScript('drivers/copy/materialise-files-worker'), { workerData: data });
    this.done = new Promise<void>((resolve, reject) => {
      let settled = false;
      const settle = (fn: () => void) => {
        if (!settled) {
          settled = true;
          fn();
        }
      };
      w.on('message', (m: { type: string; error?: Record<string, unknown> }) => {
        if (m.type === 'done') settle(resolve);
        else if (m.type === 'error') settle(() => reject(deserializeError(m.error!)));
      });
      w.on('error', (e) => settle(() => reject(e)));
      w.on('exit', (code) => settle(() => reject(new Error(`the copy driver's file thread exited with code ${code} before finishing`))));
    });
    // awaited in finish(); until then a failure must not count as unhandled
    this.done.catch(() => undefined);
    this.worker = w;
    return w;
  }
}
