/** Small SVG charts written by the bench itself (no browser, no plotting library). */

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** Horizontal bars of ratios (peer time / layerfs time) on a log scale, with the 1x line marked. */
export function ratioBars(title: string, rows: { label: string; ratio: number | null }[]): string {
  const rowH = 22;
  const left = 360;
  const width = 820;
  const plotW = width - left - 70;
  const top = 40;
  const height = top + rows.length * rowH + 40;
  const ratios = rows.map((r) => r.ratio).filter((r): r is number => r !== null && r > 0);
  const lo = Math.min(0.1, ...ratios.map((r) => r / 1.5));
  const hi = Math.max(10, ...ratios.map((r) => r * 1.5));
  const x = (v: number) => left + ((Math.log10(v) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo))) * plotW;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${width / 2}" y="20" text-anchor="middle" font-size="15" font-weight="bold">${esc(title)}</text>`,
  ];
  for (const tick of [0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000].filter((t) => t >= lo && t <= hi)) {
    parts.push(`<line x1="${x(tick)}" y1="${top - 5}" x2="${x(tick)}" y2="${height - 30}" stroke="${tick === 1 ? '#333' : '#ddd'}" stroke-width="${tick === 1 ? 1.5 : 1}"/>`);
    parts.push(`<text x="${x(tick)}" y="${height - 15}" text-anchor="middle" fill="#555">${tick}x</text>`);
  }
  rows.forEach((r, i) => {
    const y = top + i * rowH;
    parts.push(`<text x="${left - 8}" y="${y + 15}" text-anchor="end">${esc(r.label)}</text>`);
    if (r.ratio === null || !(r.ratio > 0)) {
      parts.push(`<text x="${left + 4}" y="${y + 15}" fill="#999">not measured</text>`);
      return;
    }
    const x0 = x(1);
    const x1 = x(r.ratio);
    const colour = r.ratio >= 1 ? '#2a9d5c' : '#d1495b';
    parts.push(`<rect x="${Math.min(x0, x1)}" y="${y + 4}" width="${Math.max(1, Math.abs(x1 - x0))}" height="${rowH - 8}" fill="${colour}"/>`);
    parts.push(`<text x="${Math.max(x0, x1) + 4}" y="${y + 15}" fill="#333">${r.ratio >= 10 ? r.ratio.toFixed(0) : r.ratio.toFixed(2)}x</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n');
}

/** Lines of y against x (e.g. mount time against layer count), one per series. */
export function lineChart(title: string, xLabel: string, yLabel: string, series: { name: string; points: [number, number][] }[]): string {
  const width = 820;
  const height = 420;
  const left = 70;
  const right = 170;
  const top = 40;
  const bottom = 50;
  const xs = series.flatMap((s) => s.points.map((p) => p[0]));
  const ys = series.flatMap((s) => s.points.map((p) => p[1]));
  const xMax = Math.max(1, ...xs);
  const yMax = Math.max(1e-6, ...ys) * 1.1;
  const X = (v: number) => left + (v / xMax) * (width - left - right);
  const Y = (v: number) => height - bottom - (v / yMax) * (height - top - bottom);
  const colours = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b'];
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${width / 2}" y="20" text-anchor="middle" font-size="15" font-weight="bold">${esc(title)}</text>`,
    `<line x1="${left}" y1="${height - bottom}" x2="${width - right}" y2="${height - bottom}" stroke="#333"/>`,
    `<line x1="${left}" y1="${top}" x2="${left}" y2="${height - bottom}" stroke="#333"/>`,
    `<text x="${(left + width - right) / 2}" y="${height - 12}" text-anchor="middle">${esc(xLabel)}</text>`,
    `<text x="16" y="${(top + height - bottom) / 2}" text-anchor="middle" transform="rotate(-90 16 ${(top + height - bottom) / 2})">${esc(yLabel)}</text>`,
  ];
  for (let i = 0; i <= 4; i++) {
    const v = (yMax * i) / 4;
    parts.push(`<text x="${left - 6}" y="${Y(v) + 4}" text-anchor="end" fill="#555">${v < 10 ? v.toFixed(2) : v.toFixed(0)}</text>`);
    parts.push(`<line x1="${left}" y1="${Y(v)}" x2="${width - right}" y2="${Y(v)}" stroke="#eee"/>`);
  }
  for (const v of [...new Set(xs)].sort((a, b) => a - b)) parts.push(`<text x="${X(v)}" y="${height - bottom + 16}" text-anchor="middle" fill="#555">${v}</text>`);
  series.forEach((s, i) => {
    const c = colours[i % colours.length];
    const pts = s.points.map(([a, b]) => `${X(a)},${Y(b)}`).join(' ');
    parts.push(`<polyline points="${pts}" fill="none" stroke="${c}" stroke-width="2"/>`);
    for (const [a, b] of s.points) parts.push(`<circle cx="${X(a)}" cy="${Y(b)}" r="3" fill="${c}"/>`);
    parts.push(`<text x="${width - right + 10}" y="${top + 16 * i + 10}" fill="${c}">${esc(s.name)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n');
}

/**
 * Where an operation's time goes: for each version (before, after), one row per phase, a bar
 * from the phase's start to its end (medians, ms from the operation's start). Phases that ran
 * at once overlap in time, as they did.
 */
export function phaseTimeline(title: string, versions: { name: string; total: number; phases: { name: string; start: number; end: number }[] }[]): string {
  const rowH = 20;
  const left = 300;
  const width = 820;
  const plotW = width - left - 90;
  const top = 40;
  const rows = versions.reduce((n, v) => n + v.phases.length + 1, 0);
  const height = top + rows * rowH + 45;
  const tMax = Math.max(1e-6, ...versions.map((v) => v.total)) * 1.05;
  const x = (ms: number) => left + (ms / tMax) * plotW;
  const colours: Record<string, string> = {};
  const palette = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b'];
  const colour = (p: string) => (colours[p] ??= palette[Object.keys(colours).length % palette.length]);
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${width / 2}" y="20" text-anchor="middle" font-size="15" font-weight="bold">${esc(title)}</text>`,
  ];
  const step = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000].find((s) => tMax / s <= 8) ?? 10000;
  for (let t = 0; t <= tMax; t += step) {
    parts.push(`<line x1="${x(t)}" y1="${top - 5}" x2="${x(t)}" y2="${height - 30}" stroke="#ddd"/>`);
    parts.push(`<text x="${x(t)}" y="${height - 15}" text-anchor="middle" fill="#555">${t} ms</text>`);
  }
  let row = 0;
  for (const v of versions) {
    const y0 = top + row * rowH;
    parts.push(`<text x="8" y="${y0 + 14}" font-weight="bold">${esc(v.name)}</text>`);
    parts.push(`<rect x="${x(0)}" y="${y0 + 5}" width="${Math.max(1, x(v.total) - x(0))}" height="${rowH - 10}" fill="#999"/>`);
    parts.push(`<text x="${x(v.total) + 4}" y="${y0 + 14}" fill="#333">${v.total.toFixed(0)} ms in all</text>`);
    row++;
    for (const p of v.phases) {
      const y = top + row * rowH;
      parts.push(`<text x="${left - 8}" y="${y + 14}" text-anchor="end">${esc(p.name)}</text>`);
      parts.push(`<rect x="${x(p.start)}" y="${y + 3}" width="${Math.max(1, x(p.end) - x(p.start))}" height="${rowH - 6}" fill="${colour(p.name)}"/>`);
      parts.push(`<text x="${x(p.end) + 4}" y="${y + 14}" fill="#333">${(p.end - p.start).toFixed(0)} ms</text>`);
      row++;
    }
  }
  parts.push('</svg>');
  return parts.join('\n');
}
