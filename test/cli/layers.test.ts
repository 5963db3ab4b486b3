import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { execFileSync } from 'child_process';
import { createHash } from 'crypto';
import { layerfs } from './run-cli';

let work: string;
let store: string;
beforeAll(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'layerfs-cli-'));
  store = path.join(work, 'store');
  fs.mkdirSync(path.join(work, 'src/etc'), { recursive: true });
  fs.writeFileSync(path.join(work, 'src/etc/motd'), 'hello\n');
  execFileSync('tar', ['-czf', path.join(work, 'l.tar.gz'), '-C', path.join(work, 'src'), '.']);
});
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

describe('layerfs import / ls / export', () => {
  test('import prints DiffID and ChainID; --json gives one object', () => {
    const t = layerfs(['--store', store, 'import', path.join(work, 'l.tar.gz')]);
    expect(t.stderr).toBe('');
    expect(t.code).toBe(0);
    expect(t.stdout).toMatch(/^DiffID: +sha256:[0-9a-f]{64}\nChainID: +sha256:[0-9a-f]{64}\n$/);
    const j = layerfs(['--store', store, '--json', 'import', path.join(work, 'l.tar.gz')]);
    expect(j.code).toBe(0);
    const o = j.json();
    const diffId = 'sha256:' + createHash('sha256').update(execFileSync('gzip', ['-dc', path.join(work, 'l.tar.gz')])).digest('hex');
    expect(o).toMatchObject({ diffId, chainId: diffId, size: fs.statSync(path.join(work, 'l.tar.gz')).size });
    expect(o.digest).toMatch(/^sha256:/);
  });

  test('the default store comes from LAYERFS_STORE', () => {
    const env = { LAYERFS_STORE: path.join(work, 'env-store') };
    expect(layerfs(['import', path.join(work, 'l.tar.gz')], { env }).code).toBe(0);
    expect(fs.readdirSync(path.join(work, 'env-store/layers'))).toHaveLength(1);
  });

  test('ls lists layers, export writes the imported bytes', () => {
    const o = layerfs(['--store', store, '--json', 'import', path.join(work, 'l.tar.gz')]).json();
    const ls = layerfs(['--store', store, 'ls']);
    expect(ls.code).toBe(0);
    expect(ls.stdout).toContain(o.chainId.slice(7, 19));
    expect(layerfs(['--store', store, '--json', 'ls']).json().layers.map((l: any) => l.chainId)).toContain(o.chainId);
    const out = path.join(work, 'out.tar.gz');
    const ex = layerfs(['--store', store, 'export', o.chainId, '-o', out]);
    expect(ex.code).toBe(0);
    expect(fs.readFileSync(out).equals(fs.readFileSync(path.join(work, 'l.tar.gz')))).toBe(true);
  });

  test('usage errors exit 2, failures exit 1, --json errors carry a code', () => {
    expect(layerfs(['--store', store, 'import']).code).toBe(2);
    expect(layerfs(['--store', store, 'frobnicate']).code).toBe(2);
    const missing = layerfs(['--store', store, 'export', 'sha256:' + 'b'.repeat(64), '-o', path.join(work, 'x')]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('no layer with ChainID');
    const j = layerfs(['--store', store, '--json', 'export', 'sha256:' + 'b'.repeat(64), '-o', path.join(work, 'x')]);
    expect(j.code).toBe(1);
    expect(j.json().error.code).toBe('LAYERFS_NOT_FOUND');
    expect(fs.existsSync(path.join(work, 'x'))).toBe(false);
  });

  test('layers --html writes the page beside the usual output, with the same figures', () => {
    const { pageData } = require('../report/page-data') as typeof import('../report/page-data');
    const o = layerfs(['--store', store, '--json', 'import', path.join(work, 'l.tar.gz')]).json();
    const file = path.join(work, 'layers.html');
    const r = layerfs(['--store', store, '--json', 'layers', o.chainId, '--html', file]);
    expect(r.code).toBe(0);
    const j = r.json();
    const data = pageData(fs.readFileSync(file, 'utf8'));
    expect(data.summary).toMatchObject({ efficiency: j.efficiency, wastedBytes: j.wastedBytes });
    expect(data.layers.map((l: any) => [l.diffId, l.added, l.changed, l.deleted, l.fileBytes])).toEqual(j.layers.map((l: any) => [l.diffId, l.added, l.changed, l.deleted, l.fileBytes]));
    expect(data.trees[0].rows).toEqual([0, 'etc', 'Ad', 0, 1, 'motd', 'Af', 6]);
    expect(data.dirs).toEqual(['/', '/etc']);
  });

  test('--help lists the commands and exits 0', () => {
    const h = layerfs(['--help']);
    expect(h.code).toBe(0);
    for (const c of ['import', 'export', 'ls']) expect(h.stdout).toContain(c);
  });
});
