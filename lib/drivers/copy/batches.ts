import * as native from '../../native';

/**
 * How many copyEntries calls may be outstanding at once. They run on libuv's pool (4 threads
 * unless UV_THREADPOOL_SIZE says otherwise) while the walk goes on: with a big file's copy on
 * one thread, the others go on with small files.
 */
const IN_FLIGHT = 3;

/**
 * The copy driver's copyEntries calls in flight. `run` starts a batch once the batch it depends
 * on (the one that made its directory) is done; `room` waits until fewer than IN_FLIGHT are
 * outstanding; `finish` waits for them all and throws the first failure, after which no batch
 * starts; `settle` waits for them all whatever happened (before the root's descriptor is closed).
 */
export class Batches {
  private outstanding = 0;
  private readonly pending = new Set<Promise<void>>();
  private wake: (() => void) | null = null;
  private failure: { error: unknown } | null = null;

  run(after: Promise<void> | undefined, batch: native.CopyEntriesBatch): Promise<void> {
    this.check();
    this.outstanding++;
    const done = (after ?? Promise.resolve()).then(() => {
      this.check();
      return native.copyEntries(batch);
    });
    const tracked: Promise<void> = done.then(
      (): void => this.settled(tracked),
      (error: unknown): void => {
        this.failure ??= { error };
        this.settled(tracked);
      },
    );
    this.pending.add(tracked);
    return done;
  }

  async room(): Promise<void> {
    while (this.outstanding >= IN_FLIGHT && !this.failure) await new Promise<void>((resolve) => (this.wake = resolve));
    this.check();
  }

  async finish(): Promise<void> {
    await this.settle();
    this.check();
  }

  async settle(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending]);
  }

  private settled(p: Promise<void>): void {
    this.outstanding--;
    this.pending.delete(p);
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }

  private check(): void {
    if (this.failure) throw this.failure.error;
  }
}
