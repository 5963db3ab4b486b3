import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Worker } from 'worker_threads';
import * as native from '../../lib/native';

const linux = process.platform === 'linux' && !process.env.LAYERFS_DISABLE_ADDON;
const itLinux = linux ? it : it.skip;
if (!linux) console.warn('addon build test skipped: not Linux, or LAYERFS_DISABLE_ADDON is set');

const repo = path.resolve(__dirname, '../..');

/** Runs `body` in a fresh node that loads lib/ from TypeScript source, and returns what it printed as JSON. */
function runChild(body: string, env: NodeJS.ProcessEnv): unknown {
  const script = `
const ts = require('typescript');
const fs = require('fs');
require.extensions['.ts'] = (m, file) => m._compile(ts.transpileModule(fs.readFileSync(file, 'utf8'), {
  fileName: file, compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
}).outputText, file);
(async () => { ${body} })().then((r) => process.stdout.write(JSON.stringify(r)), (e) => { console.error(e); process.exit(1); });
`;
  const r = spawnSync(process.execPath, ['-e', script], { cwd: repo, env: { ...process.env, ...env }, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`child failed (${r.status}): ${r.stderr}`);
  return JSON.parse(r.stdout);
}

describe('the addon', () => {
  itLinux('is built and loads on Linux', () => {
    expect(native.addonStatus()).toEqual({ available: true });
    expect(native.available()).toBe(true);
  });

  itLinux('has the same constants as the system headers', () => {
    expect(native.addonConstants()).toEqual({ ...native.constants });
  });

  itLinux('loads in worker threads, where the sync calls are made', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'layerfs-addon-'));
    try {
      const file = path.join(dir, 'f');
      fs.writeFileSync(file, '');
      const code = `
const { parentPort, workerData } = require('worker_threads');
const addon = require(workerData.addon);
addon.lsetxattrSync(workerData.file, 'user.n' + workerData.n, Buffer.from([workerData.n, 0]));
addon.llistxattr(workerData.file).then((names) => parentPort.postMessage(names.length > 0));
`;
      const addon = path.join(repo, 'native', 'build', 'Release', 'layerfs.node');
      const run = (n: number) =>
        new Promise<boolean>((resolve, reject) => {
          const w = new Worker(code, { eval: true, workerData: { addon, file, n } });
          w.once('message', resolve);
          w.once('error', reject);
        });
      expect(await Promise.all([1, 2, 3].map(run))).toEqual([true, true, true]);
      expect(native.llistxattrSync(file).sort()).toEqual(['user.n1', 'user.n2', 'user.n3']);
      expect(native.lgetxattrSync(file, 'user.n2')).toEqual(Buffer.from([2, 0]));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('is optional: with LAYERFS_DISABLE_ADDON=1 the module loads and every call says what needs the addon', () => {
    const out = runChild(
      `
const native = require('./lib/native/index.ts');
const thrown = (f) => { try { f(); return null; } catch (e) { return { code: e.code, name: e.name, operation: e.operation, message: e.message }; } };
const rejected = (p) => p.then(() => null, (e) => ({ code: e.code, operation: e.operation }));
return {
  status: native.addonStatus(),
  available: native.available(),
  newMountApi: native.hasNewMountApi(),
  constant: native.constants.RENAME_WHITEOUT,
  mounts: native.readMountInfo().length > 0,
  sync: [
    thrown(() => native.lgetxattrSync('/', 'user.x')),
    thrown(() => native.mknodSync('/nope', 0)),
    thrown(() => native.fsmountSync('overlay', '/nope', [])),
    thrown(() => native.flockSync(0, native.constants.LOCK_EX)),
  ],
  async: [
    await rejected(native.lsetxattr('/', 'user.x', 'v')),
    await rejected(native.renameat2('/a', '/b', 0)),
    await rejected(native.umount2('/nope')),
  ],
};`,
      { LAYERFS_DISABLE_ADDON: '1' },
    ) as Record<string, unknown>;
    expect(out).toMatchObject({ status: { available: false }, available: false, newMountApi: false, constant: 4, mounts: true });
    expect((out.status as { reason: string }).reason).toContain('LAYERFS_DISABLE_ADDON');
    const sync = out.sync as Array<Record<string, string>>;
    expect(sync.map((e) => e.operation)).toEqual(['lgetxattr', 'mknod', 'fsmount', 'flock']);
    for (const e of sync) expect(e).toMatchObject({ code: 'LAYERFS_NO_ADDON', name: 'NativeUnavailableError' });
    expect(sync[0].message).toMatch(/^lgetxattr needs the layerfs native addon, which is not available \(disabled by LAYERFS_DISABLE_ADDON\)/);
    expect(out.async).toEqual([
      { code: 'LAYERFS_NO_ADDON', operation: 'lsetxattr' },
      { code: 'LAYERFS_NO_ADDON', operation: 'renameat2' },
      { code: 'LAYERFS_NO_ADDON', operation: 'umount2' },
    ]);
  });
});
