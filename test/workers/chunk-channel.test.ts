/**
 * The windowed chunk channel (lib/workers/chunk-channel), on a MessageChannel in this thread:
 * the bytes arrive whole and in order, the sender never has more than the window out, a source
 * error reaches the receiver, and stopping releases a waiting write.
 */
import { MessageChannel } from 'worker_threads';
import { createHash } from 'crypto';
import { CHUNK_SIZE, ChunkReceiver, ChunkSender, receiveChunks, returnChunk, WINDOW } from '../../lib/workers/chunk-channel';
import type { ChannelMessage, ChunkMessage } from '../../lib/workers/chunk-channel';

const sha = (b: Buffer | Buffer[]) => {
  const h = createHash('sha256');
  for (const x of Array.isArray(b) ? b : [b]) h.update(x);
  return h.digest('hex');
};

function pattern(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed) & 0xff;
  return b;
}

test('the bytes arrive whole and in order, across chunk boundaries', async () => {
  const { port1, port2 } = new MessageChannel();
  const sender = ChunkSender.over(port1);
  // pieces of odd sizes, one larger than the whole window
  const pieces = [pattern(1, 1), pattern(CHUNK_SIZE - 1, 2), pattern(12345, 3), pattern(WINDOW + 777, 4), pattern(3, 5)];
  const sending = (async () => {
    for (const p of pieces) await sender.write(p);
    await sender.end();
  })();
  const got: Buffer[] = [];
  for await (const c of receiveChunks(port2)) got.push(Buffer.from(c));
  await sending;
  sender.stop();
  port1.close();
  expect(Buffer.concat(got).length).toBe(pieces.reduce((n, p) => n + p.length, 0));
  expect(sha(got)).toBe(sha(pieces));
});

test('the sender posts no more than the window until the receiver grants credit', async () => {
  const posted: ChunkMessage[] = [];
  const sender = new ChunkSender((m: ChannelMessage) => {
    if (m.type === 'chunk') posted.push(m);
  });
  let written = false;
  const writing = Promise.resolve(sender.write(Buffer.alloc(WINDOW * 3))).then(() => (written = true));
  await new Promise((r) => setImmediate(r));
  expect(posted.length).toBe(WINDOW / CHUNK_SIZE);
  expect(written).toBe(false);

  const receiver = new ChunkReceiver((m) => sender.credit(m));
  receiver.take(posted[0]);
  receiver.consumed(); // one chunk's credit: one more chunk may go
  await new Promise((r) => setImmediate(r));
  expect(posted.length).toBe(WINDOW / CHUNK_SIZE + 1);
  expect(written).toBe(false);

  // the consumer keeps up from here: every chunk posted is granted back, and the write ends
  let granted = 1;
  while (!written) {
    for (; granted < posted.length; granted++) receiver.take(posted[granted]);
    receiver.consumed();
    await new Promise((r) => setImmediate(r));
  }
  expect(posted.length).toBe((WINDOW * 3) / CHUNK_SIZE);
  await writing;
  expect(written).toBe(true);
});

test('an error at the source is thrown by the receiver, and stopping releases a waiting write', async () => {
  const { port1, port2 } = new MessageChannel();
  const sender = ChunkSender.over(port1);
  await sender.write(Buffer.alloc(100));
  await sender.flush();
  sender.fail('the input broke');
  const got: Buffer[] = [];
  await expect(
    (async () => {
      for await (const c of receiveChunks(port2)) got.push(c);
    })(),
  ).rejects.toThrow('the input broke');
  expect(got.map((b) => b.length)).toEqual([100]);
  sender.stop();
  port1.close();

  // nobody grants: the write waits, and stop() lets it return (posting nothing more)
  let posts = 0;
  const stuck = new ChunkSender(() => posts++);
  const w = stuck.write(Buffer.alloc(WINDOW + CHUNK_SIZE));
  expect(w).toBeInstanceOf(Promise);
  const before = posts;
  stuck.stop();
  await w;
  expect(posts).toBe(before);
  expect(stuck.stopped).toBe(true);
});

test('a buffer the receiver gives back is filled again, and the bytes stay whole', async () => {
  const { port1, port2 } = new MessageChannel();
  const sender = ChunkSender.over(port1);
  const sent = Array.from({ length: 12 }, (_, i) => pattern(CHUNK_SIZE / 2 + 17 * i, i));
  const sending = (async () => {
    for (const p of sent) await sender.write(p);
    await sender.end();
  })();
  const got: Buffer[] = [];
  for await (const c of receiveChunks(port2)) {
    got.push(Buffer.from(c)); // a copy: the chunk itself goes back
    returnChunk(port2, c);
    expect(c.length).toBe(0); // transferred back, so nothing here reads it again
    returnChunk(port2, c); // twice, or a detached one: left alone
  }
  await sending;
  sender.stop();
  port1.close();
  expect(sha(got)).toBe(sha(sent));
});
