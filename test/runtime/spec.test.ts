import * as fs from 'fs';
import * as path from 'path';
import { runtimeSpec, readFileInRoot, resolveUser } from '../../lib/runtime';
import type { ImageConfig } from '../../lib/oci/image-config';
import { makeTempDir, removeTempDir } from '../fixtures/tmp';

const image = (config: ImageConfig['config'], extra: Partial<ImageConfig> = {}): ImageConfig => ({ rootfs: { type: 'layers', diff_ids: [] }, config, ...extra });

let root: string;
beforeEach(() => {
  root = makeTempDir('spec');
  fs.mkdirSync(path.join(root, 'etc'));
  fs.writeFileSync(path.join(root, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n');
  fs.writeFileSync(path.join(root, 'etc', 'group'), 'root:x:0:\nwheel:x:10:app\napp:x:1000:\nstaff:x:50:app,other\nnogroup:x:65534:\n');
});
afterEach(() => removeTempDir(root));

describe('runtimeSpec (image-spec conversion.md)', () => {
  test('args are the Entrypoint followed by the Cmd; a CMD given replaces the Cmd; --entrypoint replaces the Entrypoint and drops the Cmd', () => {
    const img = image({ Entrypoint: ['/bin/tini', '--'], Cmd: ['sh', '-c', 'echo hi'] });
    expect(runtimeSpec(img, root).process.args).toEqual(['/bin/tini', '--', 'sh', '-c', 'echo hi']);
    expect(runtimeSpec(img, root, { args: ['true'] }).process.args).toEqual(['/bin/tini', '--', 'true']);
    expect(runtimeSpec(img, root, { entrypoint: ['/bin/sh'] }).process.args).toEqual(['/bin/sh']);
    expect(runtimeSpec(img, root, { entrypoint: ['/bin/sh'], args: ['-c', 'x'] }).process.args).toEqual(['/bin/sh', '-c', 'x']);
    expect(runtimeSpec(img, root, { entrypoint: [], args: ['id'] }).process.args).toEqual(['id']);
  });

  test('no Entrypoint, no Cmd and no command is refused', () => {
    expect(() => runtimeSpec(image({}), root)).toThrow(expect.objectContaining({ code: 'LAYERFS_INVALID_ARGUMENT', message: expect.stringMatching(/no command to run/) }));
    expect(() => runtimeSpec(image({ Entrypoint: null, Cmd: null }), root)).toThrow(/no command to run/);
  });

  test('Env is added to the defaults, a name replacing the default in place; -e comes last; HOME from passwd', () => {
    const s = runtimeSpec(image({ Env: ['PATH=/opt/bin:/bin', 'A=1'], Cmd: ['x'], User: 'app' }), root, { env: ['A=2', 'B=3'] });
    expect(s.process.env).toEqual(['PATH=/opt/bin:/bin', 'TERM=xterm', 'A=2', 'B=3', 'HOME=/home/app']);
    expect(runtimeSpec(image({ Env: ['HOME=/x'], Cmd: ['x'] }), root).process.env).toContain('HOME=/x');
    expect(runtimeSpec(image({ Cmd: ['x'] }), root).process.env).toContain('HOME=/root');
  });

  test('WorkingDir becomes cwd (default /); a relative one is refused', () => {
    expect(runtimeSpec(image({ Cmd: ['x'] }), root).process.cwd).toBe('/');
    expect(runtimeSpec(image({ Cmd: ['x'], WorkingDir: '/srv' }), root).process.cwd).toBe('/srv');
    expect(runtimeSpec(image({ Cmd: ['x'], WorkingDir: '/srv' }), root, { workdir: '/tmp' }).process.cwd).toBe('/tmp');
    expect(() => runtimeSpec(image({ Cmd: ['x'] }), root, { workdir: 'rel' })).toThrow(/must be absolute/);
  });

  test('annotations from the config, Labels over them; Volumes as tmpfs; terminal only with tty; read-only root', () => {
    const s = runtimeSpec(
      image({ Cmd: ['x'], StopSignal: 'SIGQUIT', ExposedPorts: { '80/tcp': {}, '53/udp': {} }, Labels: { 'org.opencontainers.image.author': 'label wins', k: 'v' }, Volumes: { '/data': {} } }, { os: 'linux', architecture: 'amd64', author: 'me', created: '2024-01-01T00:00:00Z' }),
      root,
      { readOnly: true },
    );
    expect(s.annotations).toEqual({
      'org.opencontainers.image.os': 'linux',
      'org.opencontainers.image.architecture': 'amd64',
      'org.opencontainers.image.author': 'label wins',
      'org.opencontainers.image.created': '2024-01-01T00:00:00Z',
      'org.opencontainers.image.stopSignal': 'SIGQUIT',
      'org.opencontainers.image.exposedPorts': '53/udp,80/tcp',
      k: 'v',
    });
    expect(s.mounts.find((m) => m.destination === '/data')).toEqual({ destination: '/data', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', 'mode=755'] });
    expect(s.root).toEqual({ path: root, readonly: true });
    expect(s.process.terminal).toBe(false);
    expect(runtimeSpec(image({ Cmd: ['x'] }), root, { tty: true }).process.terminal).toBe(true);
  });

  test('the defaults of runc spec: namespaces, kernel filesystems, masked and read-only paths', () => {
    const s = runtimeSpec(image({ Cmd: ['x'] }), root);
    expect(s.ociVersion).toMatch(/^1\.0\./);
    expect(s.linux.namespaces.map((n) => n.type).sort()).toEqual(['ipc', 'mount', 'network', 'pid', 'uts']);
    expect(s.mounts.map((m) => m.destination)).toEqual(['/proc', '/dev', '/dev/pts', '/dev/shm', '/dev/mqueue', '/sys', '/sys/fs/cgroup']);
    expect(s.linux.maskedPaths).toContain('/proc/kcore');
    expect(s.linux.readonlyPaths).toContain('/proc/sys');
    expect(s.process.capabilities.bounding).toContain('CAP_CHOWN');
    expect(s.process.capabilities.ambient).toEqual([]);
    expect(s.process.noNewPrivileges).toBe(true);
  });
});

describe('resolveUser', () => {
  test('names, ids and pairs, with additional groups from /etc/group', () => {
    expect(resolveUser(root, undefined)).toEqual({ uid: 0, gid: 0, home: '/root' });
    expect(resolveUser(root, 'app')).toEqual({ uid: 1000, gid: 1000, additionalGids: [10, 50], home: '/home/app' });
    expect(resolveUser(root, 'nobody')).toEqual({ uid: 65534, gid: 65534, home: '/nonexistent' });
    expect(resolveUser(root, '1000:1000')).toEqual({ uid: 1000, gid: 1000, home: '/home/app' });
    expect(resolveUser(root, 'app:staff')).toEqual({ uid: 1000, gid: 50, home: '/home/app' });
    expect(resolveUser(root, '4242')).toEqual({ uid: 4242, gid: 0 });
    expect(resolveUser(root, '4242:77')).toEqual({ uid: 4242, gid: 77 });
  });

  test('an unknown name is an error that names it', () => {
    expect(() => resolveUser(root, 'ghost')).toThrow(expect.objectContaining({ code: 'LAYERFS_NOT_FOUND', message: expect.stringContaining('"ghost"') }));
    expect(() => resolveUser(root, 'app:ghosts')).toThrow(/group "ghosts"/);
  });

  test('passwd is read inside the root: a symlink to a host file is resolved in the root, not on the host', () => {
    const host = makeTempDir('host');
    try {
      fs.writeFileSync(path.join(host, 'passwd'), 'evil:x:0:0::/:/bin/sh\n');
      fs.rmSync(path.join(root, 'etc', 'passwd'));
      // absolute and climbing symlinks both stay in the root
      fs.symlinkSync(path.join(host, 'passwd'), path.join(root, 'etc', 'passwd'));
      expect(readFileInRoot(root, '/etc/passwd')).toBeNull();
      expect(() => resolveUser(root, 'evil')).toThrow(/not in the image's \/etc\/passwd/);
      fs.rmSync(path.join(root, 'etc', 'passwd'));
      fs.symlinkSync('../../../../../../..' + path.join(host, 'passwd'), path.join(root, 'etc', 'passwd'));
      expect(readFileInRoot(root, '/etc/passwd')).toBeNull();
      // a link inside the root is followed inside it
      fs.rmSync(path.join(root, 'etc', 'passwd'));
      fs.mkdirSync(path.join(root, 'real'));
      fs.writeFileSync(path.join(root, 'real', 'pw'), 'inside:x:7:7::/:/bin/sh\n');
      fs.symlinkSync('/real/pw', path.join(root, 'etc', 'passwd'));
      expect(resolveUser(root, 'inside')).toMatchObject({ uid: 7, gid: 7 });
      // a loop is an error, not a hang
      fs.rmSync(path.join(root, 'etc', 'passwd'));
      fs.symlinkSync('passwd', path.join(root, 'etc', 'passwd'));
      expect(() => readFileInRoot(root, '/etc/passwd')).toThrow(/too many symlinks/);
    } finally {
      removeTempDir(host);
    }
  });
});
