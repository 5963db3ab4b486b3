import type { ProgressEvent } from '../types';
import { bytesText } from '../report/format';

/** Bytes in binary units: one formatter for the CLI and the HTML reports. */
export const formatBytes = bytesText;

/**
 * A one-line progress bar on stderr, only when stderr is a terminal and not in CI; otherwise nothing.
 * The stream is looked at on the first update, not before: making process.stderr loads Node's
 * stream code (a millisecond and more of a short command), and a `create` on overlay reports no
 * progress at all.
 */
export function progressBar(label: string, to?: NodeJS.WriteStream): { update(p: ProgressEvent): void; done(): void } {
  let stream: NodeJS.WriteStream | undefined;
  let enabled: boolean | undefined;
  let last = 0;
  let shown = false;
  const render = (out: NodeJS.WriteStream, p: ProgressEvent) => {
    const width = Math.max(10, Math.min(40, (out.columns ?? 80) - label.length - 30));
    let bar = '';
    let tail = formatBytes(p.bytes);
    if (p.total) {
      const frac = Math.min(1, p.bytes / p.total);
      const full = Math.round(frac * width);
      bar = '[' + '#'.repeat(full) + '-'.repeat(width - full) + '] ';
      tail = `${(frac * 100).toFixed(0).padStart(3)}% ${formatBytes(p.bytes)}/${formatBytes(p.total)}`;
    }
    if (p.entries !== undefined) tail += ` ${p.entries} entries`;
    out.write(`\r\x1b[2K${label} ${bar}${tail}`);
    shown = true;
  };
  return {
    update(p) {
      if (enabled === undefined) {
        stream = to ?? process.stderr;
        enabled = !!stream.isTTY && !process.env.CI;
      }
      if (!enabled) return;
      const now = Date.now();
      if (now - last < 100) return;
      last = now;
      render(stream!, p);
    },
    done() {
      if (enabled && shown) stream!.write('\r\x1b[2K');
    },
  };
}

