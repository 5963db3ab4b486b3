import * as fs from 'fs';
import { EXIT_PIPE } from './exit-codes';

/*
 * Results go out with write(2) until a command takes stdout or stderr as a stream: making
 * process.stdout loads Node's stream and socket code, several milliseconds of a short command's
 * start, for the one line that `mount` or `create` prints. Both ways write synchronously (Node
 * writes files, pipes and terminals synchronously on Linux), so their order is kept.
 *
 * A reader that goes away (`layerfs ls | head -1`) ends the command at once and quietly, as
 * SIGPIPE ends coreutils: no message, exit 141 (what a shell reports for them). Node ignores
 * SIGPIPE, so the write fails with EPIPE instead, which unhandled would print a stack trace.
 */

const streams: Partial<Record<1 | 2, NodeJS.WriteStream>> = {};

/** process.stdout (1) or process.stderr (2), from now on the way everything goes out on it. */
export function stdio(fd: 1 | 2): NodeJS.WriteStream {
  let s = streams[fd];
  if (!s) {
    s = streams[fd] = fd === 1 ? process.stdout : process.stderr;
    s.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EPIPE') process.exit(EXIT_PIPE);
      throw e;
    });
  }
  return s;
}

/** Writes `text` on fd 1 or 2: through its stream once there is one, else directly. */
export function writeOut(fd: 1 | 2, text: string): void {
  const s = streams[fd];
  if (s) {
    s.write(text);
    return;
  }
  const buf = Buffer.from(text);
  for (let off = 0; off < buf.length; ) {
    try {
      off += fs.writeSync(fd, buf, off);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EPIPE') process.exit(EXIT_PIPE);
      // a descriptor left non-blocking by whoever gave it: the stream waits for it
      if (code === 'EAGAIN') {
        stdio(fd).write(buf.subarray(off));
        return;
      }
      throw e;
    }
  }
}
