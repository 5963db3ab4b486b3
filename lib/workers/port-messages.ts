/** What reading a port's messages needs of it (a MessagePort, or a worker's parentPort). */
export interface MessageSource<M> {
  on(event: 'message', fn: (m: M) => void): unknown;
  off(event: 'message', fn: (m: M) => void): unknown;
}

/**
 * A port's messages in order, as they come (queued while the reader is busy). The listener is
 * removed when the reader stops: one left on a port would keep its thread alive.
 */
export async function* portMessages<M>(port: MessageSource<M>): AsyncGenerator<M> {
  const queue: M[] = [];
  let wake: (() => void) | null = null;
  const onMessage = (m: M) => {
    queue.push(m);
    const w = wake;
    wake = null;
    w?.();
  };
  port.on('message', onMessage);
  try {
    for (;;) {
      while (queue.length === 0) await new Promise<void>((r) => (wake = r));
      yield queue.shift()!;
    }
  } finally {
    port.off('message', onMessage);
  }
}
