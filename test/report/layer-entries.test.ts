import * as fs from 'fs';
import * as path from 'path';
import { analyzeLayers } from '../../lib/image';
import { makeTempDir, removeTempDir } from '../fixtures/tmp';

let work: string;
beforeAll(() => {
  work = makeTempDir('report-entries');
  const put = (rel: string, content?: string) => {
    const p = path.join(work, rel);
    fs.mkdirSync(content === undefined ? p : path.dirname(p), { recursive: true });
    if (content !== undefined) fs.writeFileSync(p, content);
  };
  // l0: /etc/motd, /etc/gone, /dir/a/b, /opq/old, /x
  put('l0/etc/motd', 'hello\n');
  put('l0/etc/gone', 'bye\n');
  put('l0/dir/a/b', 'bb\n');
  put('l0/opq/old', 'old\n');
  put('l0/x', 'xx');
  // l1: motd rewritten, gone and /dir deleted, /opq opaque with /opq/new, /x a directory now, /new added
  put('l1/etc/motd', 'changed\n');
  put('l1/etc/.wh.gone', '');
  put('l1/.wh.dir', '');
  put('l1/opq/.wh..wh..opq', '');
  put('l1/opq/new', 'n\n');
  put('l1/x/inner', 'i');
  put('l1/new', '12345');
});
afterAll(() => removeTempDir(work));

test("each layer's entries are what its counts count: added, changed, deleted, passed through", () => {
  const rep = analyzeLayers(['l0', 'l1'].map((d) => ({ dir: path.join(work, d), whiteout: 'oci' as const })), { entries: true });
  const [l0, l1] = rep.entries!;
  expect(l0.every((e) => e.kind === 'A')).toBe(true);
  expect(l0.map((e) => e.path).sort()).toEqual(['/dir', '/dir/a', '/dir/a/b', '/etc', '/etc/gone', '/etc/motd', '/opq', '/opq/old', '/x']);
  const byPath = new Map(l1.map((e) => [e.path, e]));
  expect(byPath.get('/etc')).toMatchObject({ kind: '', type: 'dir' });
  expect(byPath.get('/etc/motd')).toMatchObject({ kind: 'C', type: 'file', size: 8 });
  expect(byPath.get('/etc/gone')).toMatchObject({ kind: 'D', type: 'file', size: 4 });
  expect(byPath.get('/dir')).toMatchObject({ kind: 'D', type: 'dir', size: 3 }); // the bytes of what was under it
  expect(byPath.get('/opq')).toMatchObject({ kind: '', type: 'dir', opaque: true });
  expect(byPath.get('/opq/old')).toMatchObject({ kind: 'D', type: 'file', size: 4 });
  expect(byPath.get('/opq/new')).toMatchObject({ kind: 'A', size: 2 });
  expect(byPath.get('/x')).toMatchObject({ kind: 'C', type: 'dir' });
  expect(byPath.get('/x/inner')).toMatchObject({ kind: 'A' });
  expect(byPath.get('/new')).toMatchObject({ kind: 'A', size: 5 });
  expect(l1).toHaveLength(10);
  // the counts of the same analysis
  for (const [i, list] of rep.entries!.entries()) {
    expect(list.filter((e) => e.kind === 'A').length).toBe(rep.layers[i].added);
    expect(list.filter((e) => e.kind === 'C').length).toBe(rep.layers[i].changed);
    expect(list.filter((e) => e.kind === 'D').length).toBe(rep.layers[i].deleted);
    expect(list.filter((e) => e.kind !== 'D' && e.type === 'file').reduce((a, e) => a + e.size, 0)).toBe(rep.layers[i].fileBytes);
  }
  // and the analysis is the same with or without them
  const { entries: _e, ...plain } = rep;
  expect(analyzeLayers(['l0', 'l1'].map((d) => ({ dir: path.join(work, d), whiteout: 'oci' as const })))).toEqual(plain);
});
