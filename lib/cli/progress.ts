import type { ProgressEvent } from '../types';
import { bytesText } from '../report/format';

/** Bytes in binary units: one formatter for the CLI and the HTML reports. */
export const formatBytes = bytesText;

/** A one-line progress bar on stderr, only when stderr is a terminal and not in CI; otherwise nothing. */
export function progressBar(label: string, stream: NodeJS.WriteStream = process.stderr): { update(p: ProgressEvent): void; done(): void } {
  const enabled = !!stream.isTTY && !process.env.CI;
  let last = 0;
  let shown = false;
  const render = (p: ProgressEvent) => {
    const width = Math.max(10, Math.min(40, (stream.columns ?? 80) - label.length - 30));
    let bar = '';
    let tail = formatBytes(p.bytes);
    if (p.total) {
      const frac = Math.min(1, p.bytes / p.total);
      const full = Math.round(frac * width);
      bar = '[' + '#'.repeat(full) + '-'.repeat(width - full) + '] ';
      tail = `${(frac * 100).toFixed(0).padStart(3)}% ${formatBytes(p.bytes)}/${formatBytes(p.total)}`;
    }
    if (p.entries !== undefined) tail += ` ${p.entries} entries`;
    stream.write(`\r\x1b[2K${label} ${bar}${tail}`);
    shown = true;
  };
  return {
    update(p) {
      if (!enabled) return;
      const now = Date.now();
      if (now - last < 100) return;
      last = now;
      render(p);
    },
    done() {
      if (enabled && shown) stream.write('\r\x1b[2K');
    },
  };
}

