import * as fs from 'fs';
import * as path from 'path';

/**
 * The import graph of lib/, read from the source: every `import … from`, `export … from`,
 * `import(…)` type and `require(…)` with a relative specifier counts, type-only ones included
 * (a cycle of types is still a cycle for the reader).
 */
export interface ImportEdge {
  from: string; // lib-relative file, e.g. 'store/check.ts'
  to: string;
}

const SPECIFIER = /(?:\bfrom\s*|\bimport\s*\(\s*|\brequire\s*\(\s*|^\s*import\s+)['"](\.{1,2}\/[^'"]*)['"]/gm;

export function libImports(libDir: string): ImportEdge[] {
  const edges: ImportEdge[] = [];
  for (const file of tsFiles(libDir)) {
    const text = fs.readFileSync(path.join(libDir, file), 'utf8');
    for (const m of text.matchAll(SPECIFIER)) {
      const target = resolve(libDir, path.dirname(file), m[1]);
      if (target) edges.push({ from: file, to: target });
    }
  }
  return edges;
}

function tsFiles(dir: string, rel = ''): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
    const r = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...tsFiles(dir, r));
    else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) out.push(r);
  }
  return out;
}

function resolve(libDir: string, fromDir: string, spec: string): string | null {
  const base = path.normalize(path.join(fromDir, spec));
  for (const c of [base + '.ts', path.join(base, 'index.ts'), base.replace(/\.js$/, '.ts')]) {
    if (fs.existsSync(path.join(libDir, c))) return c.split(path.sep).join('/');
  }
  return null; // outside lib/ (e.g. package.json) or not TypeScript
}

/** The folder a lib file belongs to: its first path component, or the file itself at the top. */
export function unitOf(file: string): string {
  const i = file.indexOf('/');
  return i < 0 ? file.replace(/\.ts$/, '') : file.slice(0, i);
}

/** Cycles among files (Tarjan's strongly connected components of more than one file, or a self-import). */
export function fileCycles(edges: ImportEdge[]): string[][] {
  const graph = new Map<string, string[]>();
  for (const e of edges) {
    if (!graph.has(e.from)) graph.set(e.from, []);
    if (!graph.has(e.to)) graph.set(e.to, []);
    graph.get(e.from)!.push(e.to);
  }
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const on = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string): void => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    on.add(v);
    for (const w of graph.get(v)!) {
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        on.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1 || graph.get(v)!.includes(v)) out.push(scc.sort());
    }
  };
  for (const v of [...graph.keys()].sort()) if (!idx.has(v)) visit(v);
  return out;
}
