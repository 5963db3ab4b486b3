/**
 * The one windowed chunk channel between two threads, for a byte stream in either direction
 * (the input of the apply worker, the output of the pack worker). The sender copies what it is
 * given into 1 MiB buffers and transfers each one (no copy on the way); it posts while fewer than
 * `window` bytes are unacknowledged and otherwise waits. The receiver grants the bytes back as
 * credit when they are consumed, so memory stays bounded by the window however slow the
 * consumer is. Both ends are transport-free (a post function, and the sender is handed the
 * credits it receives); `receiveChunks` and `ChunkSender.over` wire them to a MessagePort.
 */
import type { MessagePort } from 'worker_threads';
import { portMessages } from './port-messages';

export const CHUNK_SIZE = 1 << 20;
/** bytes a sender may have unacknowledged: four chunks */
export const WINDOW = 4 * CHUNK_SIZE;

/** sender -> receiver: `length` bytes of `data` (transferred) */
export interface ChunkMessage {
  type: 'chunk';
  data: ArrayBuffer;
  length: number;
}
/** sender -> receiver: the stream is complete */
export interface EndMessage {
  type: 'end';
}
/** sender -> receiver: the stream failed at its source */
export interface FailMessage {
  type: 'error';
  message: string;
}
export type ChannelMessage = ChunkMessage | EndMessage | FailMessage;

/** receiver -> sender: `bytes` more may be sent */
export interface CreditMessage {
  type: 'credit';
  bytes: number;
}
/** receiver -> sender: a chunk's buffer (transferred back) whose bytes were consumed, to be filled again */
export interface ReturnMessage {
  type: 'return';
  data: ArrayBuffer;
}
export type SenderMessage = CreditMessage | ReturnMessage;
/** returned buffers a sender keeps for reuse (more than the window holds are never in flight) */
const FREE_BUFFERS = 8;

/** What the sender needs of a port: to post, and to hear the credits. */
interface SenderPort {
  postMessage(m: ChannelMessage, transfer?: ArrayBuffer[]): void;
  on(event: 'message', fn: (m: SenderMessage) => void): unknown;
  off(event: 'message', fn: (m: SenderMessage) => void): unknown;
}

export class ChunkSender {
  private batch: Buffer;
  /** buffers the receiver gave back: filled again rather than a new one allocated per chunk */
  private readonly free: Buffer[] = [];
  private used = 0;
  /** bytes of the buffers posted and not yet credited back */
  private unacked = 0;
  private waiting: (() => void) | null = null;
  private isStopped = false;
  private detachFn: (() => void) | null = null;

  /** `chunkSize`: the bytes of each buffer posted (the receiver gives them back with returnChunk's same size) */
  constructor(
    private readonly post: (m: ChannelMessage, transfer?: ArrayBuffer[]) => void,
    private readonly window: number = WINDOW,
    private readonly chunkSize: number = CHUNK_SIZE,
  ) {
    this.batch = Buffer.allocUnsafeSlow(chunkSize);
  }

  /** A sender on `port` that listens to its credits itself (until detach or stop). */
  static over(port: SenderPort, window?: number, chunkSize?: number): ChunkSender {
    const s = new ChunkSender((m, t) => port.postMessage(m, t), window, chunkSize);
    const onMessage = (m: SenderMessage) => (m?.type === 'return' ? s.reuse(m) : s.credit(m));
    port.on('message', onMessage);
    s.detachFn = () => port.off('message', onMessage);
    return s;
  }

  /** true once `stop` was called: the caller may stop producing */
  get stopped(): boolean {
    return this.isStopped;
  }

  /** A credit from the receiver (ignores any other message, so it may be fed a port's all). */
  credit(m: CreditMessage): void {
    if (m?.type !== 'credit') return;
    this.unacked -= m.bytes;
    if (this.unacked < this.window) this.wake();
  }

  /** A buffer given back by the receiver (see returnChunk): the next chunk is copied into it. */
  reuse(m: ReturnMessage): void {
    if (m?.type !== 'return' || !(m.data instanceof ArrayBuffer) || m.data.byteLength !== this.chunkSize || this.free.length >= FREE_BUFFERS || this.isStopped) return;
    this.free.push(Buffer.from(m.data));
  }

  /**
   * Queues `b`'s bytes, posting each buffer as it fills. Returns nothing when all of it went
   * without waiting, else a promise that resolves once it has (the window had to drain). One
   * write at a time: the next waits for this one.
   */
  write(b: Buffer): void | Promise<void> {
    for (let off = 0; off < b.length; ) {
      if (this.isStopped) return;
      const n = b.copy(this.batch, this.used, off);
      this.used += n;
      off += n;
      if (this.used === this.batch.length) {
        if (this.unacked >= this.window) {
          const rest = b.subarray(off);
          return this.room().then(() => {
            this.send();
            return this.write(rest);
          });
        }
        this.send();
      }
    }
  }

  /** Posts what is queued (the last, partial buffer), waiting for room if need be. */
  flush(): void | Promise<void> {
    if (this.used === 0 || this.isStopped) return;
    if (this.unacked >= this.window) return this.room().then(() => this.send());
    this.send();
  }

  /** Flushes, then tells the receiver the stream is complete. */
  async end(): Promise<void> {
    await this.flush();
    if (!this.isStopped) this.post({ type: 'end' });
  }

  /** Tells the receiver the stream failed (it needs no credit). */
  fail(message: string): void {
    if (!this.isStopped) this.post({ type: 'error', message });
  }

  /** The other side is gone: nothing more is posted, and a waiting write returns. */
  stop(): void {
    this.isStopped = true;
    this.detach();
    this.wake();
  }

  /** Stops listening for credits (a listener on a port keeps a worker alive). */
  detach(): void {
    const d = this.detachFn;
    this.detachFn = null;
    d?.();
  }

  private room(): Promise<void> {
    return new Promise<void>((r) => (this.waiting = r));
  }

  private send(): void {
    if (this.isStopped || this.used === 0) return;
    const data = this.batch.buffer as ArrayBuffer;
    this.unacked += data.byteLength;
    this.post({ type: 'chunk', data, length: this.used }, [data]);
    this.batch = this.free.pop() ?? Buffer.allocUnsafeSlow(this.chunkSize);
    this.used = 0;
  }

  private wake(): void {
    const w = this.waiting;
    this.waiting = null;
    w?.();
  }
}

/** The receiving end: takes chunks and owes their credit until they are consumed. */
export class ChunkReceiver {
  private owed = 0;

  constructor(private readonly grant: (m: CreditMessage) => void) {}

  /** The chunk's bytes (a view of the transferred buffer); its credit is owed until `consumed`. */
  take(m: ChunkMessage): Buffer {
    this.owed += m.data.byteLength;
    return Buffer.from(m.data, 0, m.length);
  }

  /** Grants back the credit of every chunk taken so far. */
  consumed(): void {
    if (this.owed === 0) return;
    const bytes = this.owed;
    this.owed = 0;
    this.grant({ type: 'credit', bytes });
  }
}

/**
 * Gives a chunk's buffer back to the sender on `port` (transferred: `piece` and every view of its
 * buffer are empty afterwards), once nothing reads its bytes any more. Without it the sender
 * allocates a new buffer per chunk and each transferred one is garbage here, left for the
 * collector: native memory that shows in the peak RSS. A piece that is not a whole chunk's view,
 * or was given back already, is left alone.
 */
export function returnChunk(port: MessagePort, piece: Buffer, chunkSize: number = CHUNK_SIZE): void {
  const data = piece.buffer;
  if (!(data instanceof ArrayBuffer) || data.byteLength !== chunkSize || returned.has(data)) return;
  returned.add(data);
  try {
    port.postMessage({ type: 'return', data } satisfies ReturnMessage, [data]);
  } catch {
    // the port is closed (the stream ended): the buffer is the collector's
  }
}
const returned = new WeakSet<ArrayBuffer>();

/**
 * The chunks a ChunkSender posts on `port`, in order, until its end (an error it is sent is
 * thrown). Each chunk is credited back as it is taken, so the next arrives while this one is
 * consumed. The port is this generator's: it is closed when the generator ends.
 */
export async function* receiveChunks(port: MessagePort): AsyncGenerator<Buffer> {
  const receiver = new ChunkReceiver((m) => port.postMessage(m));
  try {
    for await (const m of portMessages<ChannelMessage>(port)) {
      if (m.type === 'error') throw new Error(m.message);
      if (m.type === 'end') return;
      const b = receiver.take(m);
      receiver.consumed();
      yield b;
    }
  } finally {
    port.close(); // an open port would keep the worker alive
  }
}
