/** The JSON a report page embeds, read back as the page's script reads it. */
export function pageData(html: string): any {
  const m = /<script type="application\/json" id="report-data">([^]*?)<\/script>/.exec(html);
  if (!m) throw new Error('no report-data element in the page');
  return JSON.parse(m[1]);
}

/** The rows of a packed tree as objects: [dir id, name, code, ...values] of `width`. */
export function rowsOf(data: any, rows: Array<number | string>, width: number): Array<{ path: string; code: string; values: Array<number | string> }> {
  const out = [];
  for (let i = 0; i < rows.length; i += width) {
    const dir = data.dirs[rows[i] as number] as string;
    const name = rows[i + 1] as string;
    out.push({ path: dir === '/' ? '/' + name : dir + '/' + name, code: rows[i + 2] as string, values: rows.slice(i + 3, i + width) });
  }
  return out;
}
