import type { Sample } from './measure';

/** One timed subject: layerfs or a peer, with the command that reruns it. */
export interface Subject {
  name: string;
  sample?: Sample;
  /** why it was not measured (peer missing, cannot run here) */
  skipped?: string;
  command: string;
  /** a value that is not a time (throughput, bytes): shown as is */
  unit?: 's' | 'MB/s' | 'MiB';
  /** what else was seen on this line (CPU used, peak RSS, output size) */
  extra?: string;
}

export interface Row {
  label: string;
  layerfs: Subject;
  peers: Subject[];
}

export interface Target {
  text: string;
  holds: boolean | null;
  detail: string;
}

export interface Section {
  title: string;
  note?: string;
  rows: Row[];
}

/** ratio = peer time / layerfs time: above 1, layerfs is faster (for throughput, layerfs / peer). */
export function ratio(layerfs: Subject, peer: Subject): number | null {
  if (!layerfs.sample || !peer.sample) return null;
  if (layerfs.unit === 'MB/s') return layerfs.sample.median / peer.sample.median;
  return peer.sample.median / layerfs.sample.median;
}

function fmt(s: Subject): string {
  if (!s.sample) return `— (${s.skipped ?? 'not measured'})`;
  const u = s.unit ?? 's';
  const f = (v: number) => (u === 's' ? (v < 0.01 ? `${(v * 1000).toFixed(2)} ms` : v < 1 ? `${(v * 1000).toFixed(0)} ms` : `${v.toFixed(2)} s`) : `${v.toFixed(u === 'MiB' ? 1 : 0)} ${u}`);
  return `${f(s.sample.median)} (${f(s.sample.min)}–${f(s.sample.max)})`;
}

export interface ReportInput {
  machine: Record<string, string>;
  versions: Record<string, string>;
  sections: Section[];
  targets: Target[];
  charts: string[];
  quick: boolean;
  date: string;
  /** lines said before the tables (the data, how to read the commands) */
  preamble?: string[];
  /** [absolute path, how to show it] pairs: commands show $CACHE instead of a machine's path */
  aliases?: Array<[string, string]>;
}

export function renderMarkdown(opts: ReportInput): string {
  const alias = (text: string) => (opts.aliases ?? []).reduce((t, [from, to]) => t.split(from).join(to), text);
  const cell = (text: string) => alias(text).replace(/\|/g, '\\|');
  const out: string[] = [];
  out.push('# layerfs benchmark results', '');
  out.push(`Written by \`npm run bench${opts.quick ? ' -- --quick' : ''}\` on ${opts.date}. Ratios are peer time / layerfs time (higher is better for layerfs; for throughput and memory likewise: above 1, layerfs does better); times are medians of several runs with min–max. Machines here are shared and noisy: read the ratios, and the absolute times only for orientation.`, '');
  for (const line of opts.preamble ?? []) out.push(alias(line));
  if (opts.preamble?.length) out.push('');
  for (const c of opts.charts) out.push(`![${c}](${c})`, '');
  out.push('## Machine', '');
  for (const [k, v] of Object.entries(opts.machine)) out.push(`- ${k}: ${v}`);
  out.push('', '## Versions', '');
  for (const [k, v] of Object.entries(opts.versions)) out.push(`- ${k}: ${v}`);
  out.push('', '## Targets', '', '| target | holds | measured |', '|---|---|---|');
  for (const t of opts.targets) out.push(`| ${cell(t.text)} | ${t.holds === null ? 'not measured' : t.holds ? 'yes' : '**no**'} | ${cell(t.detail)} |`);
  for (const s of opts.sections) {
    out.push('', `## ${s.title}`, '');
    if (s.note) out.push(alias(s.note), '');
    if (!s.rows.length) continue;
    out.push('| operation | subject | median (min–max) | ratio | notes |', '|---|---|---|---|---|');
    for (const r of s.rows) {
      out.push(`| ${cell(r.label)} | ${cell(r.layerfs.name)} | ${cell(fmt(r.layerfs))} | | ${cell(r.layerfs.extra ?? '')} |`);
      for (const p of r.peers) {
        const q = ratio(r.layerfs, p);
        out.push(`| | ${cell(p.name)} | ${cell(fmt(p))} | ${q === null ? '—' : q.toFixed(2) + 'x'} | ${cell(p.extra ?? '')} |`);
      }
    }
    out.push('', '<details><summary>commands to rerun these lines</summary>', '');
    for (const r of s.rows) for (const subj of [r.layerfs, ...r.peers]) if (subj.command) out.push(`- ${alias(r.label)}, ${alias(subj.name)}: \`${alias(subj.command)}\``);
    out.push('', '</details>');
  }
  return out.join('\n') + '\n';
}
