import * as fs from 'fs';
import * as path from 'path';
import { spawnSync } from 'child_process';
import { layerfs } from './run-cli';
import { buildUmociFixture, fixtureDir, hasUmoci, UmociFixture } from '../fixtures/umoci';

const ok = hasUmoci && spawnSync('skopeo', ['--version']).status === 0 && process.getuid?.() === 0;
if (!ok) console.warn('image CLI tests skipped: they need umoci, skopeo and root');
const d = ok ? describe : describe.skip;

d('layerfs image / layers / create IMAGE / diff IMAGE IMAGE', () => {
  let dir: string;
  let fx: UmociFixture;
  let store: string;
  const run = (...a: string[]) => layerfs(['--store', store, ...a]);
  beforeAll(() => {
    dir = fixtureDir();
    fx = buildUmociFixture(dir);
    store = path.join(dir, 'store');
  }, 120000);
  afterAll(() => {
    for (const c of (run('--json', 'ls').json().containers ?? []) as { id: string }[]) run('rm', c.id);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('image import, ls, create on an image name, export, and diff of two images', () => {
    const imp = run('--json', 'image', 'import', fx.ref, '--name', 'fx');
    expect(imp.code).toBe(0);
    expect(imp.json().layers.map((l: any) => l.diffId)).toEqual(fx.diffIds);
    expect(run('image', 'ls').stdout).toContain('fx');
    const l2 = run('--json', 'image', 'import', `${fx.layout}:l2`, '--name', 'two').json();
    const dd = run('--json', 'diff', 'two', 'fx');
    expect(dd.code).toBe(0);
    const paths = dd.json().changes.map((c: any) => `${c.kind} ${c.path}`);
    expect(paths).toEqual(expect.arrayContaining(['A /app', 'A /app/main.js', 'A /opaque-dir/new', 'D /opaque-dir/old']));
    expect(run('diff', `${fx.layout}:l2`, `${fx.layout}:l2`).stdout.trim()).toBe('');
    const c = run('--json', 'create', 'fx', '--driver', 'copy').json();
    expect(c.chain).toBe(imp.json().chain);
    const root = run('mount', c.id).stdout.trim();
    fs.writeFileSync(path.join(root, 'hello'), 'hi');
    const out = path.join(dir, 'out.tar');
    const ex = run('--json', 'image', 'export', c.id, '--from', 'fx', '-o', out, '--format', 'docker-archive', '--tag', 'me:v2');
    expect(ex.code).toBe(0);
    const insp = JSON.parse(spawnSync('skopeo', ['--insecure-policy', 'inspect', `docker-archive:${out}`]).stdout.toString());
    expect(insp.Layers).toHaveLength(5);
    expect(l2.chain).toMatch(/^sha256:/);
  });

  test('layers: a row per layer, --layer N, and --ci thresholds', () => {
    run('image', 'import', fx.ref, '--name', 'fx');
    const t = run('layers', 'fx');
    expect(t.code).toBe(0);
    expect(t.stdout).toMatch(/efficiency: +\d/);
    const j = run('--json', 'layers', 'fx').json();
    expect(j.layers).toHaveLength(4);
    expect(j.layers[1].deleted).toBeGreaterThan(0);
    expect(j.wastedBytes).toBeGreaterThan(0);
    const one = run('--json', 'layers', 'fx', '--layer', '2').json();
    expect(one.changes.map((c: any) => `${c.kind} ${c.path}`)).toEqual(expect.arrayContaining(['D /opaque-dir/old']));
    expect(run('layers', 'fx', '--ci', '--lowest-efficiency', '0.1').code).toBe(0);
    const fail = run('layers', 'fx', '--ci', '--highest-wasted-bytes', '1');
    expect(fail.code).toBe(1);
    expect(fail.stdout).toContain('CI: FAIL');
    expect(run('layers', 'fx', '--layer', '9').code).toBe(2);
  });
});
