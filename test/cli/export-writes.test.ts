import * as fs from 'fs';
import * as path from 'path';
import { spawn, execFileSync } from 'child_process';
import { useTempDir } from '../fixtures/tmp';
import { CLI, layerfs } from './run-cli';

/**
 * Issue 19, "Writes that change the store, or leave junk, when they fail": a failed `image export`
 * committed the container anyway; Ctrl-C during `export` or `image export` left the partial output
 * beside the target for ever; `image export` was not reproducible.
 */
describe('export and image export: check first, leave nothing on failure or a signal, reproducible', () => {
  const tmp = useTempDir('cli-export-writes');

  function setup() {
    const dir = fs.mkdtempSync(path.join(tmp(), 'case-'));
    const store = path.join(dir, 'store');
    const run = (args: string[], env?: NodeJS.ProcessEnv) => layerfs(['--store', store, '--json', ...args], { env });
    const src = path.join(dir, 'src');
    fs.mkdirSync(src);
    fs.writeFileSync(path.join(src, 'hello'), 'hi\n');
    const tar = path.join(dir, 'l.tar');
    execFileSync('tar', ['-cf', tar, '-C', src, 'hello']);
    const layer = run(['import', tar]).json();
    return { dir, store, run, layer };
  }
  const layerCount = (run: (a: string[]) => ReturnType<typeof layerfs>) => run(['ls']).json().layers.length;

  test('a bad argument fails before the container is committed: no layer is made', () => {
    const { dir, run, layer } = setup();
    const c = run(['create', layer.chainId, '--driver', 'copy']).json();
    const root = run(['mount', c.id]).json();
    fs.writeFileSync(path.join(typeof root === 'string' ? root : root.path ?? root.root ?? root.mountpoint, 'new'), 'x');
    const before = layerCount(run);
    const nonEmpty = path.join(dir, 'not-a-layout');
    fs.mkdirSync(nonEmpty);
    fs.writeFileSync(path.join(nonEmpty, 'file'), '');
    const bad: Array<[string[], string]> = [
      [['--tag', 'Bad Tag!', '-o', path.join(dir, 'o1')], 'ref.name'],
      [['--format', 'docker-archive', '--tag', 'me/App:1', '-o', path.join(dir, 'o2.tar')], 'repository tag'],
      [['--from', 'no-such-image', '-o', path.join(dir, 'o3')], 'no-such-image'],
      [['-o', nonEmpty], 'neither empty nor an OCI image layout'],
      [['--format', 'oci-archive', '-o', dir], 'is a directory'],
      [['--created', 'yesterday', '-o', path.join(dir, 'o4')], 'RFC 3339'],
    ];
    for (const [args, msg] of bad) {
      const r = run(['image', 'export', c.id, ...args]);
      expect({ args, code: r.code === 0 ? 0 : 'failed' }).toEqual({ args, code: 'failed' });
      expect(r.json().error.message).toContain(msg);
      expect(layerCount(run)).toBe(before);
    }
    const bad2 = run(['image', 'export', c.id, '-o', path.join(dir, 'o5')], { SOURCE_DATE_EPOCH: 'soon' });
    expect(bad2.json().error.message).toContain('SOURCE_DATE_EPOCH');
    expect(layerCount(run)).toBe(before);
    expect(fs.readdirSync(dir).sort()).toEqual(['l.tar', 'not-a-layout', 'src', 'store']);
    // a good one commits
    const ok = run(['image', 'export', c.id, '-o', path.join(dir, 'good'), '--tag', 'v1']);
    expect(ok.code).toBe(0);
    expect(layerCount(run)).toBe(before + 1);
    run(['rm', c.id]);
  });

  test('two exports are byte-identical with --created or SOURCE_DATE_EPOCH, in every format', () => {
    const { dir, run, layer } = setup();
    for (const format of ['oci-archive', 'docker-archive']) {
      const out = (n: string) => path.join(dir, `${format}-${n}.tar`);
      const tag = format === 'docker-archive' ? 'me/app:1' : 'v1';
      expect(run(['image', 'export', layer.chainId, '--format', format, '--tag', tag, '--created', '2024-05-06T07:08:09Z', '-o', out('a')]).code).toBe(0);
      expect(run(['image', 'export', layer.chainId, '--format', format, '--tag', tag, '--created', '2024-05-06T07:08:09Z', '-o', out('b')]).code).toBe(0);
      expect(fs.readFileSync(out('a')).equals(fs.readFileSync(out('b')))).toBe(true);
      const env = { SOURCE_DATE_EPOCH: '1700000000' };
      expect(run(['image', 'export', layer.chainId, '--format', format, '--tag', tag, '-o', out('c')], env).code).toBe(0);
      expect(run(['image', 'export', layer.chainId, '--format', format, '--tag', tag, '-o', out('d')], env).code).toBe(0);
      expect(fs.readFileSync(out('c')).equals(fs.readFileSync(out('d')))).toBe(true);
      expect(fs.readFileSync(out('a')).equals(fs.readFileSync(out('c')))).toBe(false);
    }
    // the time is the config's and the history's
    const layout = path.join(dir, 'layout');
    run(['image', 'export', layer.chainId, '-o', layout, '--tag', 'x'], { SOURCE_DATE_EPOCH: '1700000000' });
    const index = JSON.parse(fs.readFileSync(path.join(layout, 'index.json'), 'utf8'));
    const blob = (d: string) => JSON.parse(fs.readFileSync(path.join(layout, 'blobs', 'sha256', d.slice(7)), 'utf8'));
    const config = blob(blob(index.manifests[0].digest).config.digest);
    expect(config.created).toBe('2023-11-14T22:13:20.000Z');
    expect(config.history.map((h: { created: string }) => h.created)).toEqual(['2023-11-14T22:13:20.000Z']);
    // a container exported twice (committed twice) gives the same image too
    const c = run(['create', layer.chainId, '--driver', 'copy']).json();
    const env = { SOURCE_DATE_EPOCH: '1700000000' };
    const one = run(['image', 'export', c.id, '--format', 'oci-archive', '-o', path.join(dir, 'c1.tar')], env).json();
    const two = run(['image', 'export', c.id, '--format', 'oci-archive', '-o', path.join(dir, 'c2.tar')], env).json();
    expect(two.manifestDigest).toBe(one.manifestDigest);
    expect(fs.readFileSync(path.join(dir, 'c1.tar')).equals(fs.readFileSync(path.join(dir, 'c2.tar')))).toBe(true);
    run(['rm', c.id]);
  });

  /**
   * The layer's blob in the store is swapped for a FIFO that this test feeds: the export is
   * surely in the middle of its copy, with its partial file open, when the signal comes.
   */
  async function interrupted(args: (chainId: string, out: string) => string[], outName: string, signal: NodeJS.Signals) {
    const { dir, store, layer } = setup();
    const blob = path.join(store, 'blobs', 'sha256', layer.digest.slice(7));
    fs.rmSync(blob);
    execFileSync('mkfifo', [blob]);
    const outDir = path.join(dir, 'out');
    fs.mkdirSync(outDir);
    // a partial file of a process that is gone: reaped by the next write to that target
    const stale = `.${outName}.999999999.1.part-0123456789ab.tmp`;
    const staleAt = outName === 'layout' ? path.join(outDir, 'layout', '.layerfs.999999999.1.part-0123456789ab.tmp') : path.join(outDir, stale);
    if (outName === 'layout') {
      fs.mkdirSync(path.join(outDir, 'layout', 'blobs', 'sha256'), { recursive: true });
      fs.writeFileSync(path.join(outDir, 'layout', 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
    }
    fs.writeFileSync(staleAt, 'junk');
    const child = spawn(process.execPath, [CLI, '--store', store, ...args(layer.chainId, path.join(outDir, outName))], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, sig) => resolve({ code, signal: sig })));
    // the writer end: opened once the export opens the blob for reading
    let fd = -1;
    for (let i = 0; fd < 0; i++) {
      try {
        fd = fs.openSync(blob, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENXIO' || i > 600) throw new Error(`the export never read its blob: ${stderr}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    const partials = () => {
      const where = outName === 'layout' ? path.join(outDir, 'layout') : outDir;
      return fs.readdirSync(where).filter((n) => /\.part-[0-9a-f]+\.tmp$/.test(n));
    };
    // all of the blob but its last byte: the export waits for that byte, its partial file open
    const total = layer.size as number;
    let sent = 0;
    for (let i = 0; ; i++) {
      if (sent < total - 1) {
        try {
          sent += fs.writeSync(fd, Buffer.alloc(Math.min(512, total - 1 - sent), 0));
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
        }
      }
      const live = partials().filter((n) => !n.includes('999999999'));
      const size = live.length ? fs.statSync(path.join(outName === 'layout' ? path.join(outDir, 'layout') : outDir, live[0]), { throwIfNoEntry: false })?.size : 0;
      if (sent === total - 1 && size) break;
      if (i > 2000) throw new Error(`no partial file appeared: ${stderr}`);
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(fs.existsSync(staleAt)).toBe(false);
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), 20000);
    const end = await exited;
    clearTimeout(timer);
    fs.closeSync(fd);
    expect(end.signal).toBe(signal);
    expect(partials()).toEqual([]);
    expect(fs.existsSync(path.join(outDir, outName)) && outName !== 'layout').toBe(false);
    return { outDir };
  }

  test('SIGINT during export: the partial layer file is removed, and a stale one was reaped', async () => {
    const { outDir } = await interrupted((id, out) => ['export', id, '-o', out], 'layer.tar', 'SIGINT');
    expect(fs.readdirSync(outDir)).toEqual([]);
  });

  test('SIGTERM during image export to an oci-archive, SIGINT during one to a layout: nothing partial is left', async () => {
    const a = await interrupted((id, out) => ['image', 'export', id, '--format', 'oci-archive', '-o', out], 'img.tar', 'SIGTERM');
    expect(fs.readdirSync(a.outDir)).toEqual([]);
    const b = await interrupted((id, out) => ['image', 'export', id, '-o', out], 'layout', 'SIGINT');
    expect(fs.readdirSync(path.join(b.outDir, 'layout')).sort()).toEqual(['blobs', 'oci-layout']);
    expect(fs.readdirSync(path.join(b.outDir, 'layout', 'blobs', 'sha256'))).toEqual([]);
  });
});
