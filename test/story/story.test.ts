import * as fs from 'fs';
import * as path from 'path';
import { spawnSync } from 'child_process';
import { createHash } from 'crypto';
import * as zlib from 'zlib';
import { layerfs, type CliResult } from '../cli/run-cli';
import { listTar, tarFileBytes } from '../container/tar-listing';
import { busyboxUnmet, makeBusyboxRoot } from '../fixtures/busybox';
import { describeIf, hasTool, unmet } from '../fixtures/peers';
import { makeTempDir, removeTempDir } from '../fixtures/tmp';
import { registryUnmet, startRegistry, type RegistryServer } from '../registry/registry-server';
import { cliAs, makeUser, removeUser, rootlessUnmet, type TestUser } from '../userns/users';

/**
 * The project's whole story through the CLI, against a real registry on 127.0.0.1: pull an image,
 * run something in a container of it, see what changed, commit it, push it; then a fresh store
 * pulls what was pushed. Once as root, once as an ordinary user on its default (rootless) store.
 */
const base = [...registryUnmet(), ...unmet(['root', 'runc', 'tar']), ...[busyboxUnmet()].filter((w): w is string => w !== null)];
const rootless = base.length ? base.join('; ') : rootlessUnmet();
const T = 180_000;
const plain = '--tls-verify=false';
/** what the story runs in the container: a file made, a file of the image deleted */
const SCRIPT = 'id -u; echo hi > /hello; rm /etc/motd';

function ok(r: CliResult | { status: number | null; stdout: string; stderr: string }, what: string): string {
  const code = 'code' in r ? r.code : r.status;
  if (code !== 0) throw new Error(`${what}: exit ${code}\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

function changeLines(diffJson: string): string[] {
  return (JSON.parse(diffJson).changes as { kind: string; path: string }[]).map((c) => `${c.kind} ${c.path}`);
}

/** A blob of the registry, saved to a file (the registry serves it on plain HTTP). */
async function registryBlob(reg: RegistryServer, repo: string, digest: string, file: string): Promise<string> {
  const res = await fetch(`${reg.url}/v2/${repo}/blobs/${digest}`);
  if (!res.ok) throw new Error(`GET blob ${digest}: ${res.status}`);
  fs.writeFileSync(file, Buffer.from(await res.arrayBuffer()));
  return file;
}

/** The DiffID of a layer blob: the sha256 of its tar, gunzipped first when it is gzip. */
function diffIdOf(file: string): string {
  const bytes = fs.readFileSync(file);
  const tar = bytes[0] === 0x1f && bytes[1] === 0x8b ? zlib.gunzipSync(bytes) : bytes;
  return 'sha256:' + createHash('sha256').update(tar).digest('hex');
}

/** The top layer of a pushed manifest (the committed one). */
async function topLayer(reg: RegistryServer, repo: string, tag: string): Promise<string> {
  const res = await fetch(`${reg.url}/v2/${repo}/manifests/${tag}`, { headers: { accept: 'application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json' } });
  const m = (await res.json()) as { layers: { digest: string }[] };
  return m.layers[m.layers.length - 1].digest;
}

describeIf(base.length === 0, base.join('; '))('the story: pull, run, diff, commit, push', () => {
  let reg: RegistryServer;
  let work: string;
  let image: string;
  const stores: string[] = [];
  const cli = (store: string, args: string[]) => layerfs(['--store', store, ...args]);

  beforeAll(async () => {
    reg = await startRegistry();
    work = makeTempDir('story');
    // the seed image: a busybox root with a file to delete, pushed by another store
    const root = path.join(work, 'root');
    makeBusyboxRoot(root);
    fs.writeFileSync(path.join(root, 'etc', 'motd'), 'welcome\n');
    const tar = path.join(work, 'seed.tar');
    expect(spawnSync('tar', ['--numeric-owner', '-C', root, '-cf', tar, '.']).status).toBe(0);
    const seed = path.join(work, 'seed-store');
    stores.push(seed);
    const chain = JSON.parse(ok(cli(seed, ['--json', 'import', tar]), 'import seed')).chainId;
    // a second layer and a Cmd, which a push of a container of it must keep
    ok(cli(seed, ['image', 'export', chain, '-o', path.join(work, 'seed-base')]), 'export seed');
    fs.mkdirSync(path.join(work, 'app'));
    fs.writeFileSync(path.join(work, 'app', 'readme'), 'app\n');
    ok(cli(seed, ['image', 'build', '--from', path.join(work, 'seed-base'), '--layer', `${path.join(work, 'app')}:/app`, '--cmd', '["sh","-c","echo from-cmd"]', '-o', path.join(work, 'seed-img'), '--tag', 't']), 'build seed');
    ok(cli(seed, ['image', 'import', `${path.join(work, 'seed-img')}:t`, '--name', 'seed']), 'import seed image');
    ok(cli(seed, ['push', 'seed', `${reg.host}/story:1`, plain]), 'push seed');
    image = `${reg.host}/story:1`;
  }, T);

  afterAll(async () => {
    for (const s of stores) for (const c of ['c']) layerfs(['--store', s, 'rm', c]);
    if (work) removeTempDir(work);
    if (reg) await reg.stop();
  });

  test(
    'as root: the pushed layer is the commit, skopeo sees it, and a fresh store pulls the same ChainID with the file',
    async () => {
      const s = path.join(work, 'root-store');
      stores.push(s);
      const pulled = JSON.parse(ok(cli(s, ['--json', 'pull', image, plain]), 'pull'));
      expect(pulled.name).toBe(image);
      expect(ok(cli(s, ['run', '--name', 'c', image, '--', 'sh', '-c', SCRIPT]), 'run')).toBe('0\n');
      // exactly what the process did: nothing the runtime made (hosts, resolv.conf, mount points)
      expect(changeLines(ok(cli(s, ['--json', 'diff', 'c']), 'diff'))).toEqual(['D /etc/motd', 'A /hello']);
      const layer = JSON.parse(ok(cli(s, ['--json', 'commit', 'c']), 'commit'));
      expect(layer.chainId).not.toBe(pulled.chain);
      const pushed = JSON.parse(ok(cli(s, ['--json', 'push', 'c', `${reg.host}/story:2`, plain]), 'push'));
      // nothing changed since the commit: the push sends the same layer
      expect(pushed.chainId).toBe(layer.chainId);
      // the commit kept its tar; the push sent it gzip: the very bytes its DiffID names, compressed
      const pushedTop = await topLayer(reg, 'story', '2');
      expect(diffIdOf(await registryBlob(reg, 'story', pushedTop, path.join(work, 'root-layer')))).toBe(layer.diffId);
      if (hasTool('skopeo')) {
        const inspect = JSON.parse(ok(spawnSync('skopeo', ['inspect', '--tls-verify=false', `docker://${reg.host}/story:2`], { encoding: 'utf8' }), 'skopeo inspect'));
        expect(inspect.Digest).toBe(pushed.manifestDigest);
        expect(inspect.Layers).toHaveLength(3);
        expect(inspect.Layers[2]).toBe(pushedTop);
      } else console.warn('skopeo is not installed (apt-get install skopeo): the registry was read by HTTP only');

      const fresh = path.join(work, 'fresh-store');
      stores.push(fresh);
      const again = JSON.parse(ok(cli(fresh, ['--json', 'pull', `${reg.host}/story:2`, plain]), 'fresh pull'));
      expect(again.chain).toBe(layer.chainId);
      expect(ok(cli(fresh, ['run', '--rm', `${reg.host}/story:2`, '--', 'sh', '-c', 'cat /hello; test -e /etc/motd && echo motd-back || echo motd-gone']), 'fresh run')).toBe('hi\nmotd-gone\n');
      // the container's image config went with the push (no --from named it): its Cmd runs, its history is kept
      expect(ok(cli(fresh, ['run', '--rm', `${reg.host}/story:2`]), 'fresh run of the Cmd')).toBe('from-cmd\n');
      const config = JSON.parse(fs.readFileSync(await registryBlob(reg, 'story', pushed.configDigest, path.join(work, 'config-2')), 'utf8'));
      expect(config.history).toHaveLength(3);
      expect(config.config.Cmd).toEqual(['sh', '-c', 'echo from-cmd']);
    },
    T,
  );

  describeIf(rootless === null, rootless ?? '')('as an ordinary user, on its default store', () => {
    let u: TestUser;
    beforeAll(() => {
      u = makeUser(true);
    });
    afterAll(() => {
      if (u) {
        cliAs(u, ['rm', 'c']);
        removeUser(u);
      }
    });

    test(
      'uid 0 inside, the same diff, and the pushed layer carries 0/0 for the new file, not the user',
      async () => {
        const pulled = JSON.parse(ok(cliAs(u, ['--json', 'pull', image, plain]), 'pull as user'));
        expect(pulled.chain).toBeDefined();
        expect(fs.existsSync(path.join(u.home, '.local/share/layerfs/store.json'))).toBe(true);
        expect(ok(cliAs(u, ['run', '--name', 'c', image, '--', 'sh', '-c', SCRIPT]), 'run as user')).toBe('0\n');
        expect(changeLines(ok(cliAs(u, ['--json', 'diff', 'c']), 'diff as user'))).toEqual(['D /etc/motd', 'A /hello']);
        const layer = JSON.parse(ok(cliAs(u, ['--json', 'commit', 'c']), 'commit as user'));
        const pushed = JSON.parse(ok(cliAs(u, ['--json', 'push', 'c', `${reg.host}/story:user`, plain]), 'push as user'));
        expect(pushed.chainId).toBe(layer.chainId);
        // what the registry holds: the owners inside the namespace, never the user's own ids
        const top = await topLayer(reg, 'story', 'user');
        const blob = await registryBlob(reg, 'story', top, path.join(work, 'user-layer'));
        expect(diffIdOf(blob)).toBe(layer.diffId);
        const owners = Object.fromEntries((await listTar(blob)).map((e) => [e.name, `${e.uid}:${e.gid}`]));
        expect(owners).toEqual({ 'etc/': '0:0', 'etc/.wh.motd': '0:0', hello: '0:0' });
        expect((await tarFileBytes(blob, 'hello'))?.toString()).toBe('hi\n');

        // root's fresh store reads the user's push: the same chain
        const fresh = path.join(work, 'fresh-from-user');
        stores.push(fresh);
        expect(JSON.parse(ok(cli(fresh, ['--json', 'pull', `${reg.host}/story:user`, plain]), 'pull of the user push')).chain).toBe(layer.chainId);
      },
      T,
    );
  });
});
