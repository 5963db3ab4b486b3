import { formatBytes } from './progress';

/**
 * A progress bar per blob on stderr (pull and push: several blobs move at once), redrawn in
 * place at most ten times a second; only when stderr is a terminal and not in CI.
 */
export function blobBars(stream: NodeJS.WriteStream = process.stderr): { update(digest: string, bytes: number, total: number, note?: string): void; done(): void } {
  const enabled = !!stream.isTTY && !process.env.CI;
  const rows = new Map<string, { bytes: number; total: number; note?: string }>();
  let drawn = 0;
  let last = 0;
  const draw = () => {
    const width = Math.max(10, Math.min(40, (stream.columns ?? 80) - 50));
    let out = drawn ? `\x1b[${drawn}A` : '';
    for (const [digest, r] of rows) {
      const frac = r.total ? Math.min(1, r.bytes / r.total) : 1;
      const full = Math.round(frac * width);
      const tail = r.note ?? `${(frac * 100).toFixed(0).padStart(3)}% ${formatBytes(r.bytes)}/${formatBytes(r.total)}`;
      out += `\r\x1b[2K${digest.slice(7, 19)} [${'#'.repeat(full)}${'-'.repeat(width - full)}] ${tail}\n`;
    }
    drawn = rows.size;
    stream.write(out);
  };
  return {
    update(digest, bytes, total, note) {
      if (!enabled) return;
      rows.set(digest, { bytes, total, note });
      const now = Date.now();
      if (now - last < 100 && !note) return;
      last = now;
      draw();
    },
    done() {
      if (enabled && rows.size) draw();
    },
  };
}
