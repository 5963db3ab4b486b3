import { MessageChannel } from 'worker_threads';
import { portMessages } from '../../lib/workers/port-messages';

describe('portMessages', () => {
  test('yields messages in order, those that came while the reader was busy included, and lets go of the port when the reader stops', async () => {
    const { port1, port2 } = new MessageChannel();
    try {
      const seen: number[] = [];
      const reading = (async () => {
        for await (const m of portMessages<number>(port2)) {
          seen.push(m);
          if (m === 1) await new Promise((r) => setTimeout(r, 30)); // busy while 2..4 arrive
          if (m === 4) break;
        }
      })();
      for (const n of [1, 2, 3, 4]) port1.postMessage(n);
      await reading;
      expect(seen).toEqual([1, 2, 3, 4]);
      expect(port2.listenerCount('message')).toBe(0);
    } finally {
      port1.close();
    }
  });
});
