import * as fs from 'fs';
import * as path from 'path';
import * as native from '../../lib/native';
import { LayerStore } from '../../lib/layer-store';
import { canMount, cleanup, makeStack, mountedUnder, mountSkipNote, tempDir } from '../drivers/helpers';
import { layerfs } from './run-cli';

mountSkipNote('layerfs create/mount/umount/rm');
const itMount = canMount ? it : it.skip;

let work: string;
let store: string;
let top: string;
beforeAll(async () => {
  work = tempDir('cli-containers');
  store = path.join(work, 'store');
  top = makeStack(await LayerStore.open(store), 2);
});
afterAll(() => cleanup(work));

const cli = (...args: string[]) => layerfs(['--store', store, ...args]);

describe('layerfs create / mount / umount / rm / ls', () => {
  it('runs a copy container through its life, in text and JSON', () => {
    const created = cli('create', top, '--driver', 'copy', '--name', 'web');
    expect(created.stderr).toBe('');
    expect(created.code).toBe(0);
    expect(created.stdout).toMatch(/^[0-9a-f]{64}\n$/);
    const id = created.stdout.trim();

    const mounted = cli('mount', 'web');
    expect(mounted.code).toBe(0);
    const root = mounted.stdout.trim();
    expect(fs.readFileSync(path.join(root, 'bottom.txt'), 'utf8')).toBe('from the bottom layer');
    expect(cli('--json', 'mount', id.slice(0, 8)).json()).toMatchObject({ id, driver: 'copy', path: root, mounts: [{ type: 'bind', source: root }] });

    const ls = cli('ls');
    expect(ls.code).toBe(0);
    expect(ls.stdout).toMatch(new RegExp(`${id.slice(0, 12)}  +web  +${top.slice(7, 19)}  +copy  +mounted  +${root}`));
    expect(cli('--json', 'ls').json().containers).toEqual([expect.objectContaining({ id, name: 'web', driver: 'copy', chain: top, state: 'mounted', mounted: true, path: root })]);

    expect(cli('umount', 'web')).toMatchObject({ code: 0, stdout: `${id}\n` });
    expect(cli('--json', 'ls').json().containers[0]).toMatchObject({ state: 'unmounted', mounted: false });
    expect(cli('--json', 'rm', 'web').json()).toEqual({ removed: [id] });
    expect(cli('--json', 'ls').json().containers).toEqual([]);
    expect(cli('ls').stdout).not.toContain('CONTAINER');
  });

  it('create takes a ChainID prefix or "scratch"; --json gives id, driver and chain', () => {
    const j = cli('--json', 'create', top.slice(7, 19), '--driver', 'copy').json();
    expect(j).toMatchObject({ id: expect.stringMatching(/^[0-9a-f]{64}$/), driver: 'copy', chain: top, state: 'created' });
    const s = cli('--json', 'create', 'scratch', '--driver', 'copy').json();
    expect(s).toMatchObject({ driver: 'copy', chain: null });
    expect(cli('rm', j.id, s.id).code).toBe(0);
  });

  it('reports usage errors with exit code 2 and failures with 1', () => {
    expect(cli('create').code).toBe(2);
    const badDriver = cli('create', top, '--driver', 'zfs');
    expect(badDriver.code).toBe(2);
    expect(badDriver.stderr).toContain('zfs');
    const missing = cli('create', 'sha256:' + 'e'.repeat(64));
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('no layer with ChainID');
    const nope = cli('--json', 'mount', 'nope');
    expect(nope.code).toBe(1);
    expect(nope.json().error.code).toBe('LAYERFS_NOT_FOUND');
    expect(cli('rm', 'nope').stderr).toContain('no container "nope"');
    expect(cli('create', 'zz-not-hex').code).toBe(2); // a malformed ChainID is a usage error
  });

  it('auto falls back to the copy driver where the addon is unavailable', () => {
    const env = { LAYERFS_DISABLE_ADDON: '1' };
    // a store made without the addon keeps its layers in the OCI whiteout form, which plain fs calls read
    const plain = path.join(work, 'store-no-addon');
    const src = path.join(work, 'src-no-addon');
    fs.mkdirSync(src);
    fs.writeFileSync(path.join(src, 'bottom.txt'), 'from the bottom layer');
    const built = layerfs(['--store', plain, '--json', 'layer', 'build', src], { env });
    expect(built.code).toBe(0);
    const chain = built.json().chainId;
    const c = layerfs(['--store', plain, '--json', 'create', chain], { env });
    expect(c.code).toBe(0);
    expect(c.json().driver).toBe('copy');
    const p = layerfs(['--store', plain, 'mount', c.json().id], { env });
    expect(fs.readFileSync(path.join(p.stdout.trim(), 'bottom.txt'), 'utf8')).toBe('from the bottom layer');
    const o = layerfs(['--store', plain, 'create', chain, '--driver', 'overlay'], { env });
    expect(o.code).toBe(1);
    expect(o.stderr).toContain('native addon');
    expect(layerfs(['--store', plain, 'rm', c.json().id], { env }).code).toBe(0);
  });

  it('a store whose layers hold overlay whiteouts says the addon is needed, not a wrong tree', () => {
    const format = JSON.parse(fs.readFileSync(path.join(store, 'store.json'), 'utf8')).whiteout;
    if (format === 'oci') return; // made without the addon: nothing to refuse
    const before = cli('--json', 'ls').json().containers;
    const c = layerfs(['--store', store, '--json', 'create', top, '--driver', 'copy'], { env: { LAYERFS_DISABLE_ADDON: '1' } });
    expect(c.code).toBe(1);
    expect(c.json().error.code).toBe('LAYERFS_NO_ADDON');
    expect(cli('--json', 'ls').json().containers).toEqual(before); // the failed create left nothing
  });

  itMount('create --mount creates and mounts in one command: the id, then the mounted path', () => {
    const out = cli('create', top, '--driver', 'overlay', '--mount');
    expect(out.code).toBe(0);
    const [id, merged, ...rest] = out.stdout.trim().split('\n');
    expect(rest).toEqual([]);
    expect(native.isMountPoint(merged)).toBe(true);
    expect(fs.readFileSync(path.join(merged, 'bottom.txt'), 'utf8')).toBe('from the bottom layer');
    const j = cli('--json', 'create', top, '--driver', 'copy', '--mount').json();
    expect(j).toMatchObject({ driver: 'copy', mounted: true });
    expect(fs.readFileSync(path.join(j.path, 'bottom.txt'), 'utf8')).toBe('from the bottom layer');
    expect(cli('rm', id).code).toBe(0);
    expect(cli('rm', j.id).code).toBe(0);
    expect(mountedUnder(store)).toEqual([]);
  });

  itMount('an overlay container stays mounted after the command exits, until umount or rm', () => {
    const id = cli('create', top, '--driver', 'overlay').stdout.trim();
    const merged = cli('mount', id).stdout.trim();
    expect(native.isMountPoint(merged)).toBe(true);
    expect(fs.readFileSync(path.join(merged, 'f1'), 'utf8')).toBe('1');
    expect(cli('ls').stdout).toMatch(new RegExp(`${id.slice(0, 12)} .* overlay +mounted +${merged}`));
    expect(cli('umount', id).code).toBe(0);
    expect(native.isMountPoint(merged)).toBe(false);
    expect(cli('mount', id).code).toBe(0);
    expect(cli('rm', id).code).toBe(0);
    expect(mountedUnder(store)).toEqual([]);
    expect(fs.existsSync(path.join(store, 'containers', id))).toBe(false);
  });
});
