import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { execFileSync, spawn } from 'child_process';
import { LayerStore } from '../../lib/layer-store';
import { readMountInfo } from '../../lib/native/mountinfo';
import { canMount } from '../drivers/helpers';

const ACTOR = path.join(__dirname, 'actor.js');
const TRIALS = Number(process.env.LAYERFS_CRASH_TRIALS ?? 50);
let work: string;
let tarballs: string[];

beforeAll(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'layerfs-stress-'));
  tarballs = [0, 1, 2].map((k) => {
    const src = path.join(work, `src${k}`);
    for (let i = 0; i < 1500; i++) {
      const p = path.join(src, `dir${i % 15}`, `file${i}`);
      fs.mkdirSync(path.dirname(p), { recursive: true });
      fs.writeFileSync(p, `layer ${k} file ${i}\n`.repeat(20));
    }
    const out = path.join(work, `layer${k}.tar.gz`);
    execFileSync('tar', ['-czf', out, '-C', src, '.']);
    return out;
  });
});
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

function spawnActor(store: string, args: string[]) {
  const p = spawn(process.execPath, [ACTOR, store, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  p.stdout.on('data', (d) => (out += d));
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; lines: any[] }>((resolve) =>
    p.on('exit', (code, signal) => resolve({ code, signal, lines: out.split('\n').filter(Boolean).map((l) => JSON.parse(l)) })),
  );
  return { p, done };
}

/** After any crash: no partial layer or blob, tmp/ reaped, every layer verifies, every container removable, no mount left. */
async function checkConsistent(storeDir: string): Promise<void> {
  const store = await LayerStore.open(storeDir);
  expect(fs.readdirSync(store.paths.tmpDir)).toEqual([]);
  for (const hex of fs.readdirSync(store.paths.layersDir)) {
    expect(fs.existsSync(path.join(store.paths.layersDir, hex, 'layer.json'))).toBe(true);
  }
  const report = await store.fsck();
  expect(report.problems.filter((p) => p.kind === 'blob' || p.kind === 'layer')).toEqual([]);
  for (const c of await store.listContainers()) await c.remove();
  expect(readMountInfo().filter((m) => m.mountPoint.startsWith(storeDir))).toEqual([]);
  expect(fs.readdirSync(store.paths.containersDir)).toEqual([]);
}

const drivers = canMount ? ['overlay', 'copy'] : ['copy'];

test(`SIGKILL at random moments of import, create, commit and remove (${TRIALS} trials) loses nothing and leaves nothing half-made`, async () => {
  const storeDir = path.join(work, 'crash-store');
  for (let t = 0; t < TRIALS; t++) {
    const job = t % 3 === 0 ? 'import' : 'container';
    const { p, done } = spawnActor(storeDir, [job, tarballs[t % 3], drivers[t % drivers.length], String(t)]);
    const delay = 20 + Math.floor(Math.random() * 600);
    const timer = setTimeout(() => p.kill('SIGKILL'), delay);
    const r = await done;
    clearTimeout(timer);
    if (r.signal !== 'SIGKILL') expect(r.lines.filter((l) => l.error)).toEqual([]);
    await checkConsistent(storeDir);
  }
}, 600000);

test('eight processes share one store: same and different layers, containers committed and removed at once', async () => {
  const storeDir = path.join(work, 'shared-store');
  await LayerStore.open(storeDir);
  const actors = [];
  for (let i = 0; i < 8; i++) {
    const args = i < 3 ? ['import', tarballs[0]] : i < 5 ? ['import', tarballs[i - 2]] : ['container', tarballs[1], drivers[i % drivers.length], String(i)];
    actors.push(spawnActor(storeDir, args).done);
  }
  const results = await Promise.all(actors);
  for (const r of results) {
    const err = r.lines.find((l) => l.error);
    if (err) expect(err.error).toBe('LAYERFS_BUSY');
    else expect(r.code).toBe(0);
  }
  const store = await LayerStore.open(storeDir);
  const layers = await store.listLayers();
  expect(new Set(layers.map((l) => l.chainId)).size).toBe(layers.length);
  // the three base layers, plus one commit per container actor
  expect(layers.filter((l) => !l.parent)).toHaveLength(3);
  const commits = results.flatMap((r) => r.lines.filter((l) => l.step === 'commit'));
  for (const c of commits) expect(store.hasLayer(c.chainId)).toBe(true);
  await checkConsistent(storeDir);
}, 300000);
